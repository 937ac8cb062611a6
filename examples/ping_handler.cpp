// A custom Handler written against the botgate library: answers "ping" with "pong" in the same
// conversation and passes everything else on. Wire it in with Runtime::add_handler().
#include <botgate/core/handler.hpp>

#include <memory>

class PingHandler final : public botgate::Handler {
 public:
  boost::asio::awaitable<botgate::HandlerResult> handle(const botgate::Event& event,
                                                        botgate::HandlerContext& ctx) override {
    if (!event.message || event.message->text != "ping") {
      co_return botgate::HandlerResult::next;
    }
    ctx.reply(botgate::OutgoingMessage::plain("pong"));
    co_return botgate::HandlerResult::done;
  }
};

std::unique_ptr<botgate::Handler> make_ping_handler() { return std::make_unique<PingHandler>(); }
