#pragma once
/// Durable state: dedup, inbox, outbox, token cache. Implementations: store/sqlite_store
/// (embedded default) and, later, store/redis_store.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/core/gateway.hpp"
#include "botgate/core/outgoing.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace botgate {

namespace asio = boost::asio;
using SystemTime = std::chrono::system_clock::time_point;

struct InboxItem {
  std::int64_t id = 0;
  Event event;
};

/// An inbox item handled: it leaves the inbox and its replies enter the outbox.
struct InboxCompletion {
  std::int64_t inbox_id = 0;
  std::vector<OutgoingMessage> replies = {};
};

struct OutboxItem {
  std::int64_t id = 0;
  OutgoingMessage message;
  int attempts = 0;
};

enum class OutboxState { queued, sent, failed };

struct OutboxStatus {
  OutboxState state = OutboxState::queued;
  int attempts = 0;
  std::string last_error;
  std::string platform_message_id;
};

/// How much of a bot's work waits in the store.
struct QueueDepth {
  std::int64_t inbox = 0;   // accepted events not yet handled
  std::int64_t outbox = 0;  // messages queued and not yet sent or failed
};

struct CachedToken {
  std::string value;
  SystemTime expires_at{};
};

/// All methods are safe to call from any strand; implementations never block the caller's
/// thread (SQLite runs on its own thread).
class Store {
 public:
  virtual ~Store() = default;

  /// Dedup and durable inbox in one transaction. Returns true when the event is new (and now
  /// in the inbox), false when any of `dedup_keys` was seen within `ttl` (nothing stored).
  virtual asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> dedup_keys,
                                               std::chrono::seconds ttl) = 0;
  /// Events of `bot` accepted but not yet completed, oldest first, taken or not (a view).
  virtual asio::awaitable<Result<std::vector<InboxItem>>> inbox_pending(std::string bot,
                                                                        std::size_t limit) = 0;
  /// Takes up to `limit` of the events of `bot` that were accepted and are not taken yet,
  /// oldest first. A taken event is not given out again by this store object until it is
  /// completed; a new store object on the same data (after a restart or a crash) gives out
  /// again every event not completed: an accepted event is handled at least once.
  virtual asio::awaitable<Result<std::vector<InboxItem>>> inbox_take(std::string bot,
                                                                     std::size_t limit) = 0;
  /// Removes the inbox items and queues their replies, all in one transaction. Returns the
  /// replies as queued (with their outbox ids), in order: the outbox worker takes them from
  /// there instead of reading them back.
  virtual asio::awaitable<Result<std::vector<OutboxItem>>> inbox_complete(
      std::vector<InboxCompletion> done) = 0;
  /// One item.
  asio::awaitable<Result<std::vector<OutboxItem>>> inbox_complete(
      std::int64_t inbox_id, std::vector<OutgoingMessage> replies) {
    std::vector<InboxCompletion> one;
    one.push_back(InboxCompletion{inbox_id, std::move(replies)});
    co_return co_await inbox_complete(std::move(one));
  }

  /// Queues a message; returns its outbox id.
  virtual asio::awaitable<Result<std::int64_t>> outbox_push(OutgoingMessage message) = 0;
  /// Queued messages of `bot` whose next attempt is due at `now` and whose id is greater than
  /// `after_id`, oldest first. `after_id` lets a reader page on past the messages it holds
  /// already (the outbox worker keeps a chat's later messages while an earlier one waits).
  virtual asio::awaitable<Result<std::vector<OutboxItem>>> outbox_due(std::string bot,
                                                                      SystemTime now,
                                                                      std::size_t limit,
                                                                      std::int64_t after_id) = 0;
  /// From the oldest.
  asio::awaitable<Result<std::vector<OutboxItem>>> outbox_due(std::string bot, SystemTime now,
                                                              std::size_t limit) {
    co_return co_await outbox_due(std::move(bot), now, limit, 0);
  }
  /// The same for the messages of one conversation (`OutgoingMessage::lane()`): how the
  /// outbox worker reads on in a chat whose backlog it held only in part.
  virtual asio::awaitable<Result<std::vector<OutboxItem>>> outbox_due_in_lane(
      std::string bot, std::string lane, SystemTime now, std::size_t limit,
      std::int64_t after_id) = 0;
  /// When the next queued message of `bot` is due, if there is one.
  virtual asio::awaitable<Result<std::optional<SystemTime>>> outbox_next_due(std::string bot) = 0;
  /// The three outcomes of a send attempt; each counts one attempt. Implementations may write
  /// updates that arrive close together in one transaction (the SQLite store does).
  virtual asio::awaitable<Result<void>> outbox_sent(std::int64_t id,
                                                    std::string platform_message_id) = 0;
  virtual asio::awaitable<Result<void>> outbox_retry(std::int64_t id, SystemTime next_attempt,
                                                     std::string error) = 0;
  virtual asio::awaitable<Result<void>> outbox_failed(std::int64_t id, std::string error) = 0;
  virtual asio::awaitable<Result<std::optional<OutboxStatus>>> outbox_status(std::int64_t id) = 0;
  /// For the status views.
  virtual asio::awaitable<Result<QueueDepth>> queue_depth(std::string bot) = 0;

  virtual asio::awaitable<Result<std::optional<CachedToken>>> token_get(std::string key) = 0;
  virtual asio::awaitable<Result<void>> token_put(std::string key, CachedToken token) = 0;
  virtual asio::awaitable<Result<void>> token_erase(std::string key) = 0;

  /// A gateway's resumable session (Discord, QQ), so that a restarted process resumes and
  /// receives what happened while it was down. `key` names the bot and shard.
  virtual asio::awaitable<Result<std::optional<GatewaySession>>> session_get(std::string key) = 0;
  /// Replaces the stored session; an empty `session_id` clears it.
  virtual asio::awaitable<Result<void>> session_put(std::string key, GatewaySession session) = 0;
};

}  // namespace botgate
