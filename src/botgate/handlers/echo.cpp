#include "botgate/handlers/echo.hpp"

namespace botgate::handlers {

asio::awaitable<HandlerResult> EchoHandler::handle(const Event& event, HandlerContext& ctx) {
  // Messages without text (an image, a file) have nothing to echo.
  if (!event.message || event.message->text.empty()) co_return HandlerResult::next;
  ctx.reply(OutgoingMessage::plain(prefix_ + event.message->text));
  co_return HandlerResult::done;
}

}  // namespace botgate::handlers
