#include "support/memory_store.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace botgate::test {

asio::awaitable<Result<bool>> MemoryStore::accept(Event event, std::vector<std::string> dedup_keys,
                                                  std::chrono::seconds ttl) {
  std::lock_guard lock(mutex_);
  if (failing_accepts_ > 0) {
    --failing_accepts_;
    co_return Error{errc::store_failed, "scripted accept failure"};
  }
  const SystemTime now = std::chrono::system_clock::now();
  // Same rule as the SQLite store: a key counts while its expiry is still ahead.
  for (const std::string& key : dedup_keys) {
    auto it = dedup_.find(key);
    if (it != dedup_.end() && it->second > now) {
      co_return false;
    }
  }
  for (const std::string& key : dedup_keys) {
    dedup_[key] = now + ttl;
  }
  const std::int64_t id = next_inbox_id_++;
  inbox_[id] = InboxItem{id, std::move(event)};
  co_return true;
}

asio::awaitable<Result<std::vector<InboxItem>>> MemoryStore::inbox_pending(std::string bot,
                                                                           std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<InboxItem> items;
  for (const auto& [id, item] : inbox_) {
    if (items.size() >= limit) break;
    if (item.event.bot == bot) items.push_back(item);
  }
  co_return items;
}

asio::awaitable<Result<std::vector<InboxItem>>> MemoryStore::inbox_take(std::string bot,
                                                                        std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<InboxItem> items;
  for (const auto& [id, item] : inbox_) {
    if (items.size() >= limit) {
      break;
    }
    if (item.event.bot == bot && taken_.insert(id).second) {
      items.push_back(item);
      ++taken_count_;
    }
  }
  co_return items;
}

asio::awaitable<Result<std::vector<OutboxItem>>> MemoryStore::inbox_complete(
    std::vector<InboxCompletion> done) {
  std::lock_guard lock(mutex_);
  if (failing_completions_ > 0) {
    --failing_completions_;
    co_return Error{errc::store_failed, "scripted completion failure"};
  }
  std::vector<OutboxItem> queued;
  for (InboxCompletion& item : done) {
    for (OutgoingMessage& reply : item.replies) {
      const std::int64_t id = push_locked(reply);
      queued.push_back(OutboxItem{id, std::move(reply), 0});
    }
    inbox_.erase(item.inbox_id);
    taken_.erase(item.inbox_id);
  }
  co_return queued;
}

std::int64_t MemoryStore::push_locked(OutgoingMessage message) {
  const std::int64_t id = next_outbox_id_++;
  OutboxEntry entry;
  entry.id = id;
  entry.message = std::move(message);
  entry.next_at = std::chrono::system_clock::now();
  outbox_[id] = std::move(entry);
  return id;
}

asio::awaitable<Result<std::int64_t>> MemoryStore::outbox_push(OutgoingMessage message) {
  std::lock_guard lock(mutex_);
  co_return push_locked(std::move(message));
}

asio::awaitable<Result<std::vector<OutboxItem>>> MemoryStore::outbox_due(std::string bot,
                                                                         SystemTime now,
                                                                         std::size_t limit,
                                                                         std::int64_t after_id) {
  std::lock_guard lock(mutex_);
  ++due_reads_;
  std::vector<OutboxItem> items;
  for (auto it = outbox_.upper_bound(after_id); it != outbox_.end(); ++it) {
    const auto& [id, entry] = *it;
    if (items.size() >= limit) {
      break;
    }
    if (entry.message.bot == bot && entry.state == OutboxState::queued && entry.next_at <= now) {
      items.push_back(OutboxItem{id, entry.message, entry.attempts});
    }
  }
  co_return items;
}

asio::awaitable<Result<std::vector<OutboxItem>>> MemoryStore::outbox_due_in_lane(
    std::string bot, std::string lane, SystemTime now, std::size_t limit, std::int64_t after_id) {
  std::lock_guard lock(mutex_);
  ++lane_reads_;
  std::vector<OutboxItem> items;
  for (auto it = outbox_.upper_bound(after_id); it != outbox_.end() && items.size() < limit;
       ++it) {
    const auto& [id, entry] = *it;
    if (entry.message.bot == bot && entry.message.lane() == lane &&
        entry.state == OutboxState::queued && entry.next_at <= now) {
      items.push_back(OutboxItem{id, entry.message, entry.attempts});
    }
  }
  co_return items;
}

asio::awaitable<Result<std::optional<SystemTime>>> MemoryStore::outbox_next_due(std::string bot) {
  std::lock_guard lock(mutex_);
  std::optional<SystemTime> next;
  for (const auto& [id, entry] : outbox_) {
    if (entry.message.bot == bot && entry.state == OutboxState::queued) {
      next = next ? std::min(*next, entry.next_at) : entry.next_at;
    }
  }
  co_return next;
}

asio::awaitable<Result<QueueDepth>> MemoryStore::queue_depth(std::string bot) {
  std::lock_guard lock(mutex_);
  QueueDepth depth;
  for (const auto& [id, item] : inbox_) depth.inbox += item.event.bot == bot ? 1 : 0;
  for (const auto& [id, entry] : outbox_) {
    depth.outbox += entry.message.bot == bot && entry.state == OutboxState::queued ? 1 : 0;
  }
  co_return depth;
}

Result<void> MemoryStore::update_locked(std::int64_t id, OutboxState state, SystemTime next_at,
                                        std::string error, std::string platform_message_id) {
  auto it = outbox_.find(id);
  if (it == outbox_.end()) {
    return Error{errc::not_found, "no outbox message " + std::to_string(id)};
  }
  OutboxEntry& entry = it->second;
  entry.state = state;
  entry.next_at = next_at;
  entry.last_error = std::move(error);
  entry.platform_message_id = std::move(platform_message_id);
  ++entry.attempts;
  return {};
}

void MemoryStore::hold_sent_records(bool hold) { holding_sent_ = hold; }

asio::awaitable<Result<void>> MemoryStore::outbox_sent(std::int64_t id,
                                                       std::string platform_message_id) {
  while (holding_sent_) {
    asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::milliseconds(2));
    co_await wait.async_wait(asio::use_awaitable);
  }
  std::lock_guard lock(mutex_);
  co_return update_locked(id, OutboxState::sent, SystemTime{}, {}, std::move(platform_message_id));
}

asio::awaitable<Result<void>> MemoryStore::outbox_retry(std::int64_t id, SystemTime next_attempt,
                                                        std::string error) {
  std::lock_guard lock(mutex_);
  co_return update_locked(id, OutboxState::queued, next_attempt, std::move(error), {});
}

asio::awaitable<Result<void>> MemoryStore::outbox_failed(std::int64_t id, std::string error) {
  std::lock_guard lock(mutex_);
  co_return update_locked(id, OutboxState::failed, SystemTime{}, std::move(error), {});
}

asio::awaitable<Result<std::optional<OutboxStatus>>> MemoryStore::outbox_status(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = outbox_.find(id);
  if (it == outbox_.end()) {
    co_return std::optional<OutboxStatus>{};
  }
  const OutboxEntry& entry = it->second;
  OutboxStatus status;
  status.state = entry.state;
  status.attempts = entry.attempts;
  status.last_error = entry.last_error;
  status.platform_message_id = entry.platform_message_id;
  co_return std::optional<OutboxStatus>{std::move(status)};
}

asio::awaitable<Result<std::optional<CachedToken>>> MemoryStore::token_get(std::string key) {
  std::lock_guard lock(mutex_);
  ++token_gets_;
  auto it = tokens_.find(key);
  if (it == tokens_.end()) {
    co_return std::optional<CachedToken>{};
  }
  co_return std::optional<CachedToken>{it->second};
}

asio::awaitable<Result<void>> MemoryStore::token_put(std::string key, CachedToken token) {
  std::lock_guard lock(mutex_);
  tokens_[std::move(key)] = std::move(token);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> MemoryStore::token_erase(std::string key) {
  std::lock_guard lock(mutex_);
  tokens_.erase(key);
  co_return Result<void>{};
}

asio::awaitable<Result<std::optional<GatewaySession>>> MemoryStore::session_get(
    std::string key) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    co_return std::optional<GatewaySession>{};
  }
  co_return std::optional<GatewaySession>{it->second};
}

asio::awaitable<Result<void>> MemoryStore::session_put(std::string key, GatewaySession session) {
  std::lock_guard lock(mutex_);
  if (session.session_id.empty()) {
    sessions_.erase(key);
  } else {
    sessions_[std::move(key)] = std::move(session);
  }
  co_return Result<void>{};
}

void MemoryStore::fail_accepts(int count) {
  std::lock_guard lock(mutex_);
  failing_accepts_ = count;
}

void MemoryStore::restart() {
  std::lock_guard lock(mutex_);
  taken_.clear();
}

void MemoryStore::fail_completions(int count) {
  std::lock_guard lock(mutex_);
  failing_completions_ = count;
}

int MemoryStore::taken_count() const {
  std::lock_guard lock(mutex_);
  return taken_count_;
}

std::vector<InboxItem> MemoryStore::inbox() const {
  std::lock_guard lock(mutex_);
  std::vector<InboxItem> items;
  for (const auto& [id, item] : inbox_) {
    items.push_back(item);
  }
  return items;
}

std::vector<MemoryStore::OutboxEntry> MemoryStore::outbox() const {
  std::lock_guard lock(mutex_);
  std::vector<OutboxEntry> entries;
  for (const auto& [id, entry] : outbox_) {
    entries.push_back(entry);
  }
  return entries;
}

std::optional<CachedToken> MemoryStore::token(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(key);
  if (it == tokens_.end()) {
    return std::nullopt;
  }
  return it->second;
}

int MemoryStore::token_gets() const {
  std::lock_guard lock(mutex_);
  return token_gets_;
}

int MemoryStore::lane_reads() const {
  std::lock_guard lock(mutex_);
  return lane_reads_;
}

int MemoryStore::due_reads() const {
  std::lock_guard lock(mutex_);
  return due_reads_;
}

}  // namespace botgate::test
