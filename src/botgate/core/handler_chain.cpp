#include "botgate/core/handler_chain.hpp"

#include <spdlog/spdlog.h>

namespace botgate {

void HandlerChain::add(std::unique_ptr<Handler> handler) { handlers_.push_back(std::move(handler)); }

asio::awaitable<std::vector<OutgoingMessage>> HandlerChain::run(const Event& event) const {
  HandlerContext ctx(event);
  for (const auto& handler : handlers_) {
    HandlerResult result = HandlerResult::next;
    try {
      result = co_await handler->handle(event, ctx);
    } catch (const std::exception& e) {
      spdlog::error("handler failed on event {} of bot {}: {}", event.id, event.bot, e.what());
    }
    if (result == HandlerResult::done) break;
  }
  co_return std::move(ctx.replies());
}

}  // namespace botgate
