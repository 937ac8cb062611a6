#pragma once
/// The ordered handlers an event goes through: rules, forward, echo, library handlers. The
/// first handler that answers `done` ends the chain.

#include "botgate/core/handler.hpp"

#include <memory>
#include <vector>

namespace botgate {

/// What the chain made of one event.
struct ChainOutcome {
  /// done (also when no handler answered), retry or give_up.
  HandlerResult result = HandlerResult::done;
  /// For done: the replies, addressed to the event's conversation.
  std::vector<OutgoingMessage> replies = {};
  /// For done: a handler will answer it later through the API (HandlerContext::answer_later).
  bool answers_later = false;
  /// For done: a handler opened a streamed reply (HandlerContext::open_stream), which is in the
  /// outbox already, not in `replies`.
  bool streamed = false;
  /// For retry and give_up: why; for retry, how long to wait before the next attempt.
  std::string failure = {};
  std::chrono::milliseconds retry_after{};
};

class HandlerChain {
 public:
  /// Handlers are added before the runtime starts; the chain is read-only afterwards.
  void add(std::unique_ptr<Handler> handler);
  /// Runs `event` through the chain until a handler answers done, retry or give_up. A handler
  /// that throws is logged and treated as `next`. `attempt` and `accepted_at`: see
  /// HandlerContext. `streams`: what the handlers open streamed replies with (the Runtime).
  asio::awaitable<ChainOutcome> run(const Event& event, int attempt = 1,
                                    HandlerContext::SystemTime accepted_at = {},
                                    ReplyStreams* streams = nullptr) const;
  std::size_t size() const noexcept { return handlers_.size(); }
  /// Whether every handler is immediate for `bot` (Handler::immediate_for): true for an empty
  /// chain.
  bool immediate_for(const std::string& bot) const;

 private:
  std::vector<std::unique_ptr<Handler>> handlers_;
};

}  // namespace botgate
