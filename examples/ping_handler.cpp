// A bot built on the botgate library: botgate's own command line (run | check | send) with one
// C++ handler added to the chain. It answers "ping" with "pong" in the same conversation,
// "count" with a streamed reply that grows ("1 2 3 4 5", a number every 200 ms, as an LLM's
// answer would), and passes everything else on.
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

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace {

/// Answers "ping" with "pong"; any other event goes on to the next handler.
class PingHandler final : public botgate::Handler {
 public:
  boost::asio::awaitable<botgate::HandlerResult> handle(const botgate::Event& event,
                                                        botgate::HandlerContext& ctx) override {
    if (!event.message) co_return botgate::HandlerResult::next;
    if (event.message->text == "count") co_return co_await count(ctx);
    if (event.message->text != "ping") co_return botgate::HandlerResult::next;
    ctx.reply(botgate::OutgoingMessage::plain("pong"));
    co_return botgate::HandlerResult::done;
  }

 private:
  /// A streamed reply: the platform shows it growing (Discord edits, a Feishu card, the
  /// console's chat) while the handler writes it.
  static boost::asio::awaitable<botgate::HandlerResult> count(botgate::HandlerContext& ctx) {
    auto stream = co_await ctx.open_stream(botgate::OutgoingMessage::plain("Counting:"));
    if (!stream) co_return botgate::HandlerResult::done;  // opened and ended before a crash
    boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
    for (int i = 1; i <= 5; ++i) {
      pause.expires_after(std::chrono::milliseconds(200));
      co_await pause.async_wait(boost::asio::use_awaitable);
      if (!co_await stream->append(" " + std::to_string(i))) co_return botgate::HandlerResult::done;
    }
    (void)co_await stream->finish();
    co_return botgate::HandlerResult::done;
  }
};

}  // namespace

int main(int argc, char** argv) {
  return botgate::app::run_cli(argc, argv, [](botgate::app::Gateway& gateway) {
    gateway.add_handler(std::make_unique<PingHandler>());
  });
}
