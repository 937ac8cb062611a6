#pragma once
/// Callbacks that wait for the first reply to their event, to carry it in their acknowledgement
/// (WebhookOutcome::reply_window, a Discord interaction response), and the inbox worker's wait
/// to learn whether that acknowledgement was written.
///
/// A reply handed to a callback counts as sent only once the server has written the answer that
/// carries it: until then a crash, a dropped connection or a write that fails would lose it
/// while the log called it sent. When the write is not confirmed, the reply goes to the outbox
/// as any other; the platforms that answer inline make that first send idempotent (Discord
/// edits the original response), so a reply that did get through is not shown twice.
///
/// The two sides:
///   callback (any executor)              inbox worker (the bot's strand)
///   open(event id) ─ accept the event
///   wait(window) ...................... hand(event id, reply) -> the waiter
///   close(event id) -> the answer         written(waiter) ... the answer's after_write(ok)
///
/// Thread safety: every method may be called from any thread.

#include "botgate/core/http.hpp"
#include "botgate/core/outgoing.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace botgate {

namespace asio = boost::asio;

class ReplyWaiters {
 public:
  /// Turns a reply into the callback's answer; nullopt when the platform cannot carry it there.
  using ReplyAck = std::function<std::optional<HttpResponse>(const OutgoingMessage&)>;
  struct Waiter;

  /// A callback starts waiting for event `event_id` (before the event is accepted: the inbox
  /// worker may handle it at once). Its timer runs on `executor`, the callback's.
  std::shared_ptr<Waiter> open(const std::string& event_id, ReplyAck reply_ack,
                               asio::any_io_executor executor);
  /// Waits until a reply was handed over or `window` passed. Runs on the callback's executor.
  asio::awaitable<void> wait(std::shared_ptr<Waiter> waiter, std::chrono::milliseconds window);
  /// Ends the wait for `event_id`: the answer that carries the reply, if one came in time; its
  /// after_write tells the inbox worker whether it reached the platform. After this no reply is
  /// taken any more (a later one is sent by the outbox).
  std::optional<HttpAnswer> close(const std::string& event_id);

  /// Gives `reply` to the callback waiting for `event_id`: the waiter when it took it; null
  /// when none waits (any more) or the platform cannot carry this reply in its answer.
  std::shared_ptr<Waiter> hand(const std::string& event_id, const OutgoingMessage& reply);
  /// Whether the answer carrying the reply `waiter` took was written, waiting at most `limit`
  /// for the server to say. False when the write failed, the answer was dropped unwritten, or
  /// the server did not say in time. Runs on the caller's executor (the bot's strand).
  asio::awaitable<bool> written(std::shared_ptr<Waiter> waiter, std::chrono::milliseconds limit);

  /// Callbacks waiting now.
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;  // guards the map and every waiter's state
  std::map<std::string, std::shared_ptr<Waiter>> waiters_;  // by Event::id
};

}  // namespace botgate
