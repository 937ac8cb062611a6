#include "botgate/core/handler_chain.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate {

void HandlerChain::add(std::unique_ptr<Handler> handler) { handlers_.push_back(std::move(handler)); }

bool HandlerChain::immediate_for(const std::string& bot) const {
  return std::all_of(handlers_.begin(), handlers_.end(),
                     [&bot](const auto& handler) { return handler->immediate_for(bot); });
}

asio::awaitable<ChainOutcome> HandlerChain::run(const Event& event, int attempt,
                                                HandlerContext::SystemTime accepted_at,
                                                ReplyStreams* streams) const {
  HandlerContext ctx(event, attempt, accepted_at);
  ctx.set_streams(streams);
  ChainOutcome outcome;
  for (const auto& handler : handlers_) {
    HandlerResult result = HandlerResult::next;
    try {
      result = co_await handler->handle(event, ctx);
    } catch (const std::exception& e) {
      spdlog::error("handler failed on event {} of bot {}: {}", event.id, event.bot, e.what());
    }
    if (result == HandlerResult::next) continue;
    outcome.result = result;
    break;
  }
  if (outcome.result == HandlerResult::done) {
    outcome.replies = std::move(ctx.replies());
    outcome.answers_later = ctx.answers_later();
    outcome.streamed = ctx.streams_opened() > 0;
  } else {
    // Replies gathered before a retry are made again by the next attempt, not sent now.
    outcome.failure = ctx.failure().empty() ? "a handler failed" : ctx.failure();
    outcome.retry_after = ctx.retry_after();
  }
  co_return outcome;
}

}  // namespace botgate
