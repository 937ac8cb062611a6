#pragma once
/// An in-memory botgate::Store for runtime and token tests: the same contract as the SQLite
/// store (dedup with expiry, inbox, outbox with due times, tokens), one mutex, no disk. Tests can
/// look inside and script failures.

#include "botgate/core/lease_table.hpp"
#include "botgate/core/rate_table.hpp"
#include "botgate/core/store.hpp"

#include <cstdint>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace botgate::test {

/// Thread safety: every method may be called from any thread; one mutex guards all state.
class MemoryStore final : public Store {
 public:
  /// One outbox row as the store holds it.
  struct OutboxEntry {
    std::int64_t id = 0;
    OutgoingMessage message;
    OutboxState state = OutboxState::queued;
    int attempts = 0;
    SystemTime next_at{};
    std::string last_error;
    std::string platform_message_id;
    std::int64_t first_part = 0;  ///< on a message's later parts: its first part's id
    StreamRecord stream = {};     ///< a streamed message's text, end and progress
  };

  asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> dedup_keys,
                                       std::chrono::seconds ttl) override;
  bool accepts_handled() const noexcept override { return true; }
  bool shared() const noexcept override { return shared_; }
  /// Makes it a store other instances use too (as Redis is), for what the runtime does then.
  void set_shared(bool shared) { shared_ = shared; }
  asio::awaitable<Result<bool>> accept_handled(Event event, std::vector<std::string> dedup_keys,
                                               std::chrono::seconds ttl,
                                               std::vector<OutgoingMessage> replies) override;
  asio::awaitable<Result<std::vector<InboxItem>>> inbox_pending(std::string bot,
                                                                std::size_t limit) override;
  asio::awaitable<Result<std::vector<InboxItem>>> inbox_take(std::string bot,
                                                             std::size_t limit) override;
  using Store::inbox_complete;
  asio::awaitable<Result<void>> inbox_complete(std::vector<InboxCompletion> done) override;
  asio::awaitable<Result<void>> inbox_retry(std::int64_t inbox_id, std::string error) override;
  asio::awaitable<Result<std::int64_t>> inbox_dead_letter(std::int64_t inbox_id,
                                                          std::string reason) override;
  asio::awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string bot,
                                                                std::int64_t before,
                                                                std::size_t limit) override;
  asio::awaitable<Result<std::optional<std::string>>> dead_letter_retry(std::int64_t id) override;
  asio::awaitable<Result<bool>> dead_letter_discard(std::int64_t id) override;
  asio::awaitable<Result<std::vector<LoggedEvent>>> events_after(std::int64_t after,
                                                                 EventFilter filter,
                                                                 std::size_t limit) override;
  std::int64_t watch_events(EventLogListener listener) override;
  asio::awaitable<Result<std::optional<Event>>> reply_ref(std::string event_id) override;
  asio::awaitable<Result<std::int64_t>> outbox_push(OutgoingMessage message) override;
  asio::awaitable<Result<OutboxPushed>> outbox_push_message(std::vector<OutgoingMessage> parts,
                                                            std::string client_key) override;
  asio::awaitable<Result<std::vector<OutboxItem>>> outbox_take(std::string bot, SystemTime now,
                                                               std::size_t limit,
                                                               std::size_t lane_limit) override;
  asio::awaitable<Result<std::optional<SystemTime>>> outbox_next_due(std::string bot) override;
  asio::awaitable<Result<QueueDepth>> queue_depth(std::string bot) override;
  asio::awaitable<Result<void>> outbox_sent(std::int64_t id,
                                            std::string platform_message_id) override;
  asio::awaitable<Result<void>> outbox_retry(std::int64_t id, SystemTime next_attempt,
                                             std::string error) override;
  asio::awaitable<Result<void>> outbox_failed(std::int64_t id, std::string error) override;
  asio::awaitable<Result<void>> outbox_stream_text(std::int64_t id, std::string text,
                                                   StreamEnd end) override;
  asio::awaitable<Result<void>> outbox_stream_progress(std::int64_t id,
                                                       std::string progress) override;
  asio::awaitable<Result<std::optional<OutboxStatus>>> outbox_status(std::int64_t id) override;
  asio::awaitable<Result<std::optional<CachedToken>>> token_get(std::string key) override;
  asio::awaitable<Result<void>> token_put(std::string key, CachedToken token) override;
  asio::awaitable<Result<void>> token_erase(std::string key) override;
  asio::awaitable<Result<std::vector<std::int64_t>>> id_numbers(std::string bot,
                                                                std::vector<IdKey> keys) override;
  asio::awaitable<Result<std::optional<IdEntry>>> id_entry(std::string bot, IdKind kind,
                                                           std::int64_t number) override;
  asio::awaitable<Result<std::optional<GatewaySession>>> session_get(std::string key) override;
  asio::awaitable<Result<void>> session_put(std::string key, GatewaySession session) override;
  asio::awaitable<Result<std::optional<Lease>>> lease_acquire(
      std::string name, std::string holder, std::chrono::milliseconds ttl) override;
  asio::awaitable<Result<bool>> lease_renew(std::string name, std::string holder,
                                            std::int64_t epoch,
                                            std::chrono::milliseconds ttl) override;
  asio::awaitable<Result<void>> lease_release(std::string name, std::string holder,
                                              std::int64_t epoch) override;
  asio::awaitable<Result<std::size_t>> presence(std::string group, std::string member,
                                                std::chrono::milliseconds ttl) override;
  asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> rate_take(
      std::string key, std::size_t limit, std::chrono::milliseconds window) override;
  asio::awaitable<Result<void>> rate_hold(std::string key,
                                          std::chrono::milliseconds duration) override;

  /// The next `count` calls to accept() fail with errc::store_failed (a full disk, say).
  void fail_accepts(int count);
  /// As a new store object on the same data would be (after a crash): every event not completed
  /// and every message not sent or failed may be taken again.
  void restart();
  /// The next `count` calls to rate_take() and rate_hold() fail with errc::store_failed (Redis
  /// out of reach).
  void fail_rates(int count);
  /// The next `count` calls to inbox_complete() fail with errc::store_failed, storing nothing.
  void fail_completions(int count);
  /// How many events inbox_take() gave out, in all.
  int taken_count() const;
  /// While on, outbox_sent() waits (a slow disk): what the runtime does meanwhile is seen.
  void hold_sent_records(bool hold);

  /// Events in the inbox, oldest first.
  std::vector<InboxItem> inbox() const;
  /// Every outbox row, oldest first.
  std::vector<OutboxEntry> outbox() const;
  /// The token stored under `key`, if any.
  std::optional<CachedToken> token(const std::string& key) const;
  /// How many times token_get() was called.
  int token_gets() const;
  /// How many messages outbox_take() gave out, in all.
  int outbox_taken_count() const;
  /// The most messages of one lane that were out (taken, neither sent nor failed) at once.
  std::size_t most_out_in_a_lane() const;

 private:
  /// Uses up one scripted rate failure, if there is one.
  bool rate_failure();

  mutable std::mutex mutex_;  // guards everything below
  std::map<std::string, SystemTime> dedup_;  // key -> expiry
  bool shared_ = false;
  std::map<std::int64_t, InboxItem> inbox_;
  std::set<std::int64_t> taken_;  // inbox ids given out by inbox_take and not completed
  std::set<std::int64_t> outbox_taken_;  // outbox ids given out by outbox_take, still queued
  std::map<std::int64_t, OutboxEntry> outbox_;
  /// (bot, client key) -> the message's id; kept as long as the rows (never deleted here).
  std::map<std::pair<std::string, std::string>, std::int64_t> client_keys_;
  std::map<std::int64_t, std::string> inbox_errors_;  // the last error of each retried item
  std::map<std::int64_t, DeadLetter> dead_letters_;
  std::map<std::string, std::pair<Event, SystemTime>> reply_refs_;  // event id -> event, expiry
  std::int64_t next_dead_letter_id_ = 1;
  std::map<std::string, CachedToken> tokens_;
  std::map<std::string, GatewaySession> sessions_;
  LeaseTable leases_;  // its own lock
  RateTable rates_;    // its own lock
  /// (bot, kind, platform id) -> number, and number -> (bot, kind, entry): the id map.
  std::map<std::tuple<std::string, int, std::string>, std::int64_t> id_numbers_;
  std::map<std::int64_t, std::tuple<std::string, int, IdEntry>> id_entries_;
  std::int64_t next_id_number_ = 1;
  std::int64_t next_inbox_id_ = 1;
  /// The event log, by cursor (kept whole: no retention here). Cursors start at 1001, so that
  /// a test that takes a cursor for an inbox id or a count fails.
  static constexpr std::int64_t kFirstCursor = 1001;
  std::map<std::int64_t, LoggedEvent> events_;
  std::int64_t next_cursor_ = kFirstCursor;
  EventLogListener listener_;
  std::int64_t next_outbox_id_ = 1;
  int failing_accepts_ = 0;
  int failing_completions_ = 0;
  int failing_rates_ = 0;
  int taken_count_ = 0;
  std::atomic<bool> holding_sent_{false};
  int token_gets_ = 0;
  int outbox_taken_count_ = 0;
  std::size_t most_out_in_a_lane_ = 0;

  std::int64_t push_locked(OutgoingMessage message);
  /// accept, or with `replies` accept_handled.
  Result<bool> accept_locked(Event event, const std::vector<std::string>& dedup_keys,
                             std::chrono::seconds ttl,
                             std::optional<std::vector<OutgoingMessage>> replies);
  Result<void> update_locked(std::int64_t id, OutboxState state, SystemTime next_at,
                             std::string error, std::string platform_message_id);
};

}  // namespace botgate::test
