#include "support/memory_store.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/message_status.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace botgate::test {

asio::awaitable<Result<bool>> MemoryStore::accept(Event event, std::vector<std::string> dedup_keys,
                                                  std::chrono::seconds ttl) {
  std::lock_guard lock(mutex_);
  co_return accept_locked(std::move(event), dedup_keys, ttl, std::nullopt);
}

asio::awaitable<Result<bool>> MemoryStore::accept_handled(Event event,
                                                          std::vector<std::string> dedup_keys,
                                                          std::chrono::seconds ttl,
                                                          std::vector<OutgoingMessage> replies) {
  std::lock_guard lock(mutex_);
  co_return accept_locked(std::move(event), dedup_keys, ttl, std::move(replies));
}

Result<bool> MemoryStore::accept_locked(Event event, const std::vector<std::string>& dedup_keys,
                                        std::chrono::seconds ttl,
                                        std::optional<std::vector<OutgoingMessage>> replies) {
  if (failing_accepts_ > 0) {
    --failing_accepts_;
    return Error{errc::store_failed, "scripted accept failure"};
  }
  const SystemTime now = std::chrono::system_clock::now();
  // Same rule as the SQLite store: a key counts while its expiry is still ahead.
  for (const std::string& key : dedup_keys) {
    auto it = dedup_.find(key);
    if (it != dedup_.end() && it->second > now) return false;
  }
  for (const std::string& key : dedup_keys) {
    dedup_[key] = now + ttl;
  }
  const std::int64_t cursor = next_cursor_++;
  LoggedEvent logged{cursor, event.bot, event.platform, event.chat.id, to_json(event)};
  events_[cursor] = logged;
  if (replies) {
    for (OutgoingMessage& reply : *replies) push_locked(std::move(reply));
  } else {
    const std::int64_t id = next_inbox_id_++;
    inbox_[id] = InboxItem{id, std::move(event), 0, now};
  }
  // Under the mutex: one call at a time, in cursor order.
  if (listener_) listener_(std::move(logged));
  return true;
}

asio::awaitable<Result<std::vector<LoggedEvent>>> MemoryStore::events_after(std::int64_t after,
                                                                            EventFilter filter,
                                                                            std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<LoggedEvent> out;
  for (auto it = events_.upper_bound(after); it != events_.end() && out.size() < limit; ++it) {
    const LoggedEvent& e = it->second;
    if (filter.matches(e.bot, e.platform, e.chat)) out.push_back(e);
  }
  co_return out;
}

std::int64_t MemoryStore::watch_events(EventLogListener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
  return next_cursor_ == kFirstCursor ? 0 : next_cursor_ - 1;
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

asio::awaitable<Result<void>> MemoryStore::inbox_complete(std::vector<InboxCompletion> done) {
  std::lock_guard lock(mutex_);
  if (failing_completions_ > 0) {
    --failing_completions_;
    co_return Error{errc::store_failed, "scripted completion failure"};
  }
  const SystemTime now = std::chrono::system_clock::now();
  for (InboxCompletion& item : done) {
    for (OutgoingMessage& reply : item.replies) push_locked(std::move(reply));
    if (auto it = inbox_.find(item.inbox_id); it != inbox_.end() && item.keep_reply_ref) {
      reply_refs_[item.event_id] = {it->second.event, now + kReplyRefTtl};
    }
    inbox_.erase(item.inbox_id);
    taken_.erase(item.inbox_id);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> MemoryStore::inbox_retry(std::int64_t inbox_id, std::string error) {
  std::lock_guard lock(mutex_);
  if (auto it = inbox_.find(inbox_id); it != inbox_.end()) {
    ++it->second.attempts;
    inbox_errors_[inbox_id] = std::move(error);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::int64_t>> MemoryStore::inbox_dead_letter(std::int64_t inbox_id,
                                                                     std::string reason) {
  std::lock_guard lock(mutex_);
  auto it = inbox_.find(inbox_id);
  if (it == inbox_.end()) co_return Error{errc::not_found, "no such inbox item"};
  const std::int64_t id = next_dead_letter_id_++;
  InboxItem& item = it->second;
  dead_letters_[id] = DeadLetter{id,           std::move(item.event), item.attempts + 1,
                                 std::move(reason), item.accepted_at,
                                 std::chrono::system_clock::now()};
  inbox_.erase(it);
  taken_.erase(inbox_id);
  inbox_errors_.erase(inbox_id);
  co_return id;
}

asio::awaitable<Result<std::vector<DeadLetter>>> MemoryStore::dead_letters(std::string bot,
                                                                           std::int64_t before,
                                                                           std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<DeadLetter> out;
  for (auto it = dead_letters_.rbegin(); it != dead_letters_.rend() && out.size() < limit; ++it) {
    if (before != 0 && it->first >= before) continue;
    if (!bot.empty() && it->second.event.bot != bot) continue;
    out.push_back(it->second);
  }
  co_return out;
}

asio::awaitable<Result<std::optional<std::string>>> MemoryStore::dead_letter_retry(
    std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = dead_letters_.find(id);
  if (it == dead_letters_.end()) co_return std::optional<std::string>{};
  std::string bot = it->second.event.bot;
  const std::int64_t inbox_id = next_inbox_id_++;
  inbox_[inbox_id] =
      InboxItem{inbox_id, std::move(it->second.event), 0, std::chrono::system_clock::now()};
  dead_letters_.erase(it);
  co_return std::optional<std::string>{std::move(bot)};
}

asio::awaitable<Result<bool>> MemoryStore::dead_letter_discard(std::int64_t id) {
  std::lock_guard lock(mutex_);
  co_return dead_letters_.erase(id) > 0;
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

asio::awaitable<Result<std::optional<Event>>> MemoryStore::reply_ref(std::string event_id) {
  std::lock_guard lock(mutex_);
  auto it = reply_refs_.find(event_id);
  if (it == reply_refs_.end() || it->second.second <= std::chrono::system_clock::now()) {
    co_return std::optional<Event>{};
  }
  co_return std::optional<Event>{it->second.first};
}

asio::awaitable<Result<std::int64_t>> MemoryStore::outbox_push(OutgoingMessage message) {
  std::lock_guard lock(mutex_);
  co_return push_locked(std::move(message));
}

asio::awaitable<Result<OutboxPushed>> MemoryStore::outbox_push_message(
    std::vector<OutgoingMessage> parts, std::string client_key) {
  if (parts.empty()) co_return Error{errc::invalid_argument, "a message with no parts"};
  for (const OutgoingMessage& part : parts) {
    if (part.bot != parts.front().bot) {
      co_return Error{errc::invalid_argument, "the parts of one message are of several bots"};
    }
  }
  std::lock_guard lock(mutex_);
  std::pair<std::string, std::string> key{parts.front().bot, std::move(client_key)};
  if (!key.second.empty()) {
    if (auto it = client_keys_.find(key); it != client_keys_.end()) {
      co_return OutboxPushed{it->second, false};
    }
  }
  const std::int64_t first = push_locked(std::move(parts.front()));
  for (std::size_t i = 1; i < parts.size(); ++i) {
    outbox_.at(push_locked(std::move(parts[i]))).first_part = first;
  }
  if (!key.second.empty()) client_keys_.emplace(std::move(key), first);
  co_return OutboxPushed{first, true};
}

asio::awaitable<Result<std::vector<OutboxItem>>> MemoryStore::outbox_take(
    std::string bot, SystemTime now, std::size_t limit, std::size_t lane_limit) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::size_t> out;  // by lane: taken and still queued
  for (const std::int64_t id : outbox_taken_) ++out[outbox_.at(id).message.lane()];
  std::set<std::string> held_back;  // lanes whose next message cannot be given now
  std::vector<OutboxItem> items;
  for (const auto& [id, entry] : outbox_) {
    if (items.size() >= limit) break;
    if (entry.message.bot != bot || entry.state != OutboxState::queued) continue;
    if (outbox_taken_.contains(id)) continue;
    const std::string lane = entry.message.lane();
    if (held_back.contains(lane)) continue;
    if (entry.next_at > now || out[lane] >= lane_limit) {
      held_back.insert(lane);  // nothing later of this lane may overtake it
      continue;
    }
    items.push_back(OutboxItem{id, entry.message, entry.attempts, entry.stream});
    outbox_taken_.insert(id);
    ++outbox_taken_count_;
    most_out_in_a_lane_ = std::max(most_out_in_a_lane_, ++out[lane]);
  }
  co_return items;
}

asio::awaitable<Result<std::optional<SystemTime>>> MemoryStore::outbox_next_due(std::string bot) {
  std::lock_guard lock(mutex_);
  std::optional<SystemTime> next;
  std::set<std::string> met;  // lanes whose next message was met
  for (const auto& [id, entry] : outbox_) {
    if (entry.message.bot != bot || entry.state != OutboxState::queued) continue;
    if (outbox_taken_.contains(id) || !met.insert(entry.message.lane()).second) continue;
    next = next ? std::min(*next, entry.next_at) : entry.next_at;
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
  for (const auto& [id, letter] : dead_letters_) depth.dead_letters += letter.event.bot == bot;
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
  if (state != OutboxState::queued) outbox_taken_.erase(id);  // a retry stays taken
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

asio::awaitable<Result<void>> MemoryStore::outbox_stream_text(std::int64_t id, std::string text,
                                                              StreamEnd end) {
  std::lock_guard lock(mutex_);
  auto it = outbox_.find(id);
  if (it != outbox_.end() && it->second.state == OutboxState::queued) {
    it->second.stream.text = std::move(text);
    it->second.stream.end = end;
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> MemoryStore::outbox_stream_progress(std::int64_t id,
                                                                  std::string progress) {
  std::lock_guard lock(mutex_);
  auto it = outbox_.find(id);
  if (it != outbox_.end() && it->second.state == OutboxState::queued) {
    it->second.stream.progress = std::move(progress);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::optional<OutboxStatus>>> MemoryStore::outbox_status(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = outbox_.find(id);
  if (it == outbox_.end()) {
    co_return std::optional<OutboxStatus>{};
  }
  std::vector<StoredPart> parts;
  for (auto part = it; part != outbox_.end(); ++part) {
    const OutboxEntry& entry = part->second;
    if (part != it && entry.first_part != id) continue;
    parts.push_back(StoredPart{
        OutboxPart{entry.id, entry.state, entry.platform_message_id}, entry.attempts,
        entry.last_error, entry.message.bot});
  }
  OutboxStatus status = message_status(std::move(parts), it->second.message);
  if (it->second.message.stream) status.stream = it->second.stream.end;
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

asio::awaitable<Result<std::optional<Lease>>> MemoryStore::lease_acquire(
    std::string name, std::string holder, std::chrono::milliseconds ttl) {
  co_return leases_.acquire(name, holder, ttl);
}

asio::awaitable<Result<bool>> MemoryStore::lease_renew(std::string name, std::string holder,
                                                       std::int64_t epoch,
                                                       std::chrono::milliseconds ttl) {
  co_return leases_.renew(name, holder, epoch, ttl);
}

asio::awaitable<Result<void>> MemoryStore::lease_release(std::string name, std::string holder,
                                                         std::int64_t epoch) {
  leases_.release(name, holder, epoch);
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> MemoryStore::presence(std::string group, std::string member,
                                                           std::chrono::milliseconds ttl) {
  co_return leases_.presence(group, member, ttl);
}

bool MemoryStore::rate_failure() {
  std::lock_guard lock(mutex_);
  if (failing_rates_ <= 0) return false;
  --failing_rates_;
  return true;
}

asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> MemoryStore::rate_take(
    std::string key, std::size_t limit, std::chrono::milliseconds window) {
  if (rate_failure()) co_return Error{errc::store_failed, "rate_take failed (scripted)"};
  co_return rates_.take(key, limit, window);
}

asio::awaitable<Result<void>> MemoryStore::rate_hold(std::string key,
                                                     std::chrono::milliseconds duration) {
  if (rate_failure()) co_return Error{errc::store_failed, "rate_hold failed (scripted)"};
  rates_.hold(key, duration);
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<std::int64_t>>> MemoryStore::id_numbers(
    std::string bot, std::vector<IdKey> keys) {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> numbers;
  numbers.reserve(keys.size());
  for (auto& key : keys) {
    const int kind = static_cast<int>(key.kind);
    auto [it, added] = id_numbers_.try_emplace({bot, kind, key.platform_id}, next_id_number_);
    if (added) {
      id_entries_[next_id_number_] =
          std::make_tuple(bot, kind, IdEntry{key.platform_id, key.context});
      ++next_id_number_;
    } else if (!key.context.empty()) {
      std::get<2>(id_entries_[it->second]).context = key.context;
    }
    numbers.push_back(it->second);
  }
  co_return numbers;
}

asio::awaitable<Result<std::optional<IdEntry>>> MemoryStore::id_entry(std::string bot,
                                                                      IdKind kind,
                                                                      std::int64_t number) {
  std::lock_guard lock(mutex_);
  auto it = id_entries_.find(number);
  if (it == id_entries_.end() || std::get<0>(it->second) != bot ||
      std::get<1>(it->second) != static_cast<int>(kind)) {
    co_return std::optional<IdEntry>{};
  }
  co_return std::optional<IdEntry>{std::get<2>(it->second)};
}

void MemoryStore::fail_accepts(int count) {
  std::lock_guard lock(mutex_);
  failing_accepts_ = count;
}

void MemoryStore::fail_rates(int count) {
  std::lock_guard lock(mutex_);
  failing_rates_ = count;
}

void MemoryStore::restart() {
  std::lock_guard lock(mutex_);
  taken_.clear();
  outbox_taken_.clear();
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

int MemoryStore::outbox_taken_count() const {
  std::lock_guard lock(mutex_);
  return outbox_taken_count_;
}

std::size_t MemoryStore::most_out_in_a_lane() const {
  std::lock_guard lock(mutex_);
  return most_out_in_a_lane_;
}

}  // namespace botgate::test
