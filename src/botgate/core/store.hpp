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
  /// Removes the inbox items and queues their replies, all in one transaction: either every
  /// item leaves the inbox with its replies queued (in the order of `done`, each item's in
  /// their order), or nothing changes. The replies are then takeable by outbox_take.
  virtual asio::awaitable<Result<void>> inbox_complete(std::vector<InboxCompletion> done) = 0;
  /// One item.
  asio::awaitable<Result<void>> inbox_complete(std::int64_t inbox_id,
                                               std::vector<OutgoingMessage> replies) {
    std::vector<InboxCompletion> one;
    one.push_back(InboxCompletion{inbox_id, std::move(replies)});
    co_return co_await inbox_complete(std::move(one));
  }

  /// Queues a message; returns its outbox id. Ids grow in queue order and are never reused.
  virtual asio::awaitable<Result<std::int64_t>> outbox_push(OutgoingMessage message) = 0;
  /// Takes queued messages of `bot` to send, like inbox_take for the inbox. Guarantees:
  /// - It gives queued messages whose next attempt is due at `now`, in queue (id) order, at
  ///   most `limit` of them.
  /// - A message given is taken: this store object does not give it again. outbox_sent and
  ///   outbox_failed end it; outbox_retry records the attempt and its next attempt time but the
  ///   message stays taken (its taker keeps it and tries it again itself; the stored time counts
  ///   after a restart). A new store object on the same data (a restart, a crash) gives again
  ///   every message not yet sent or failed.
  /// - Per conversation order: the messages of one lane (OutgoingMessage::lane()) are given in
  ///   queue order, and a message is never given while an earlier message of its lane is queued
  ///   and not given yet (after a restart, an earlier message not due yet holds back its lane's
  ///   later ones).
  /// - At most `lane_limit` messages of one lane are out (taken, and neither sent nor failed)
  ///   at once: one chat's backlog cannot fill the taker while other chats wait.
  virtual asio::awaitable<Result<std::vector<OutboxItem>>> outbox_take(std::string bot,
                                                                       SystemTime now,
                                                                       std::size_t limit,
                                                                       std::size_t lane_limit) = 0;
  /// The earliest next attempt among the queued messages of `bot` that are not taken and next
  /// in their lane (no earlier message of the lane is queued and not taken), if there is one:
  /// when outbox_take may give more without anything else happening (a restart left retries
  /// that come due later). A time already past means a message is due but held back by the
  /// limits: room made by a send that ends lets it go. Taken messages never count, nor those
  /// behind another message of their lane that is not taken (they cannot go before it).
  virtual asio::awaitable<Result<std::optional<SystemTime>>> outbox_next_due(std::string bot) = 0;
  /// The three outcomes of a send attempt; each counts one attempt. sent and failed end the
  /// message (it is no longer queued); retry keeps it queued, and taken if it was, with
  /// `next_attempt` stored for a later store object. Implementations may write updates that
  /// arrive close together in one transaction (the SQLite store does).
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
