// A bot built on the botgate library: botgate's own command line (run | check | send) with one
// C++ handler added to the chain. It answers "ping" with "pong" in the same conversation and
// passes everything else on.
//
//   cmake --build build --target botgate_ping_bot
//   ./build/examples/botgate_ping_bot run --config my.toml
//
// then send "ping" to any bot in my.toml, or type it in the console's sandbox chat. Library
// handlers run after the built-in ones (rules, forward, echo): with [echo] enabled, echo answers
// "ping" first. tests/integration/test_example_handler.py runs this program.
#include <botgate/app/cli.hpp>
#include <botgate/app/wiring.hpp>
#include <botgate/core/handler.hpp>

#include <memory>

namespace {

/// Answers "ping" with "pong"; any other event goes on to the next handler.
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

}  // namespace

int main(int argc, char** argv) {
  return botgate::app::run_cli(argc, argv, [](botgate::app::Gateway& gateway) {
    gateway.add_handler(std::make_unique<PingHandler>());
  });
}
