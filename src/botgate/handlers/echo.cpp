#include "botgate/handlers/echo.hpp"

#include "botgate/handlers/addressed.hpp"

namespace botgate::handlers {

asio::awaitable<HandlerResult> EchoHandler::handle(const Event& event, HandlerContext& ctx) {
  // Messages without text (an image, a file) have nothing to echo.
  if (!event.message || event.message->text.empty()) co_return HandlerResult::next;
  // Only what is meant for the bot: a Discord bot with the default intents, a QQ private bot or
  // a Feishu app with the group-message scope sees every message in its channels and groups.
  if (!addressed_to_bot(event)) co_return HandlerResult::next;
  ctx.reply(OutgoingMessage::plain(prefix_ + event.message->text));
  co_return HandlerResult::done;
}

}  // namespace botgate::handlers
