#pragma once
/// The interface for bot logic: built-in handlers (rules, forward, echo) and library users'.

#include "botgate/core/event.hpp"
#include "botgate/core/outgoing.hpp"

#include <boost/asio/awaitable.hpp>

#include <vector>

namespace botgate {

namespace asio = boost::asio;

enum class HandlerResult {
  next,  ///< not handled; the next handler in the chain gets the event
  done,  ///< handled; the chain stops here
};

/// Collects a handler's replies. Replies go to the event's conversation, as replies to it.
class HandlerContext {
 public:
  explicit HandlerContext(const Event& event) : event_(event) {}
  const Event& event() const noexcept { return event_; }
  /// Queues `message` as a reply to the event; it is written to the outbox after the chain ends.
  void reply(OutgoingMessage message);
  std::vector<OutgoingMessage>& replies() noexcept { return replies_; }

 private:
  const Event& event_;
  std::vector<OutgoingMessage> replies_;
};

/// Bot logic. Called on the bot's strand, one event at a time per bot.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) = 0;
};

}  // namespace botgate
