#pragma once
/// The embedded Store: one SQLite database in WAL mode, used only from its own thread. Every
/// method posts its work to that thread and resumes the caller on the caller's executor, so no
/// network thread ever blocks on the disk.

#include "botgate/core/lease_table.hpp"
#include "botgate/core/rate_table.hpp"
#include "botgate/core/store.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace botgate::store {

struct SqliteStoreOptions {
  /// Lets other connections open the file while the store has it (tests that break the database
  /// on purpose). Off, the store takes the file's lock once and holds it: no file lock and
  /// WAL-index check around every transaction, and a second process cannot open the file.
  bool shared_file = false;
  /// Sent and failed messages answer outbox_status this long after they were queued and last
  /// tried; then they are deleted (see OutboxPurge).
  std::chrono::milliseconds finished_retention = std::chrono::hours(24 * 7);
  /// How long the event log keeps an accepted event (Store::events_after; `[api]
  /// event_retention_s`); then it is deleted (see EventLogPurge).
  std::chrono::milliseconds event_retention = std::chrono::hours(24);
  /// How often the store looks for finished messages and old log entries to delete.
  std::chrono::milliseconds purge_every = std::chrono::minutes(10);
};

class SqliteStore final : public Store {
 public:
  /// Opens (creating if needed) the database at `path` and its schema. Throws
  /// std::runtime_error naming the path when it cannot, also when another process has it.
  explicit SqliteStore(const std::string& path, SqliteStoreOptions options = {});
  ~SqliteStore() override;

  asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> dedup_keys,
                                       std::chrono::seconds ttl) override;
  bool accepts_handled() const noexcept override { return true; }
  std::vector<StoreUpkeep> upkeep() const override;
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
  asio::awaitable<Result<QueueDepth>> queue_depth(std::string bot) override;
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
  /// In memory, on the caller's thread: a send asks before each message, and a hop to the
  /// database's thread would add to every send what one process does not need.
  asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> rate_take(
      std::string key, std::size_t limit, std::chrono::milliseconds window) override;
  asio::awaitable<Result<void>> rate_hold(std::string key,
                                          std::chrono::milliseconds duration) override;

  /// How many transactions the store has committed since it opened (for tests and benchmarks:
  /// group commit is seen in it).
  std::uint64_t commits() const noexcept;
  /// Syncs of the WAL done ahead of the checkpoints (see WalSyncAhead; for tests).
  std::uint64_t wal_syncs_ahead() const noexcept;
  /// Outbox messages that outbox_take read from the table (not kept whole in memory; for tests
  /// and benchmarks).
  std::uint64_t outbox_rows_read() const noexcept;
  /// Purge passes over the outbox ended, and finished messages they deleted (for tests).
  std::uint64_t outbox_purges() const noexcept;
  std::uint64_t outbox_purged() const noexcept;
  /// Event log entries deleted past their retention (for tests).
  std::uint64_t events_purged() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  /// In memory: one process uses a SQLite store, so its leases need not be on disk.
  LeaseTable leases_;
  /// Likewise its rate limits.
  RateTable rates_;
};

/// The database path of a "sqlite://relative.db" or "sqlite:///abs/path.db" store URL;
/// nullopt for other schemes.
std::optional<std::string> sqlite_path_from_url(std::string_view url);

}  // namespace botgate::store
