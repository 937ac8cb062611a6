#pragma once
/// The Store on Redis (`[store] url = "redis://..."` or `rediss://`), for state that outlives a
/// machine and for several botgate instances on one Redis: each bot's inbox and outbox are
/// split by chat into partitions, each served by one instance at a time under a lease
/// (store/redis_partitions), and an instance learns at once of work another queued and of the
/// events every instance logged (store/redis_stream_tail, told through watch_work and
/// watch_events). All Redis I/O runs on the store's own
/// thread through an Asio client (store/redis_client): no caller's thread blocks.
/// Key layout: see redis_store.cpp.

#include "botgate/core/store.hpp"
#include "botgate/store/redis_url.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace botgate::store {

struct RedisStoreOptions {
  /// Every key starts with it: several botgates (or tests) may share a database apart.
  std::string key_prefix = "botgate:";
  /// This instance's stable name (`[store] instance`): its consumer name in the inbox streams'
  /// group, and the mark on the partition leases it holds. A restarted instance with the same
  /// name takes back at once the partitions it held; two instances at once need two names.
  std::string instance = "botgate";
  /// Partition leases (store/redis_partitions): how long one lasts unrenewed (so how long the
  /// others wait before taking over a dead instance's partitions), and how often it is renewed.
  std::chrono::milliseconds lease_ttl = std::chrono::seconds(10);
  std::chrono::milliseconds lease_renew_every = std::chrono::milliseconds(2500);
  /// Let go of the leases when the store object is destroyed (a clean shutdown), so that the
  /// others take over at once. Tests turn it off to play a crash.
  bool release_on_close = true;
  /// As SqliteStoreOptions: how long finished messages and log entries are kept.
  std::chrono::milliseconds finished_retention = std::chrono::hours(24 * 7);
  std::chrono::milliseconds event_retention = std::chrono::hours(24);
  std::chrono::milliseconds purge_every = std::chrono::minutes(10);
  /// The shared message log's Stream keeps about this many entries (as a console's log does).
  std::size_t message_log_length = 2000;
  /// rediss://: a CA file trusted beside the system's.
  std::string ca_file = {};
  /// A command unanswered this long counts as a lost connection.
  std::chrono::milliseconds command_timeout = std::chrono::seconds(10);
};

class RedisStore final : public Store {
 public:
  /// Connects to `url` and reads where the event log stands. Throws std::runtime_error naming
  /// host and port (never the password) when Redis cannot be reached or refuses the login.
  explicit RedisStore(const RedisUrl& url, RedisStoreOptions options = {});
  ~RedisStore() override;

  asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> dedup_keys,
                                       std::chrono::seconds ttl) override;
  bool accepts_handled() const noexcept override { return true; }
  bool shared() const noexcept override { return true; }
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
  void watch_work(WorkListener listener) override;
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
  void share_log(const LogEntry& entry) override;
  bool watch_log(LogListener listener) override;
  asio::awaitable<Result<std::size_t>> presence(std::string group, std::string member,
                                                std::chrono::milliseconds ttl) override;
  asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> rate_take(
      std::string key, std::size_t limit, std::chrono::milliseconds window) override;
  asio::awaitable<Result<void>> rate_hold(std::string key,
                                          std::chrono::milliseconds duration) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace botgate::store
