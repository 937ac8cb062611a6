#include "botgate/core/message_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <functional>

namespace botgate {
namespace {

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

bool matches(const LogEntry& entry, const LogFilter& filter) {
  if (entry.seq <= filter.after) return false;
  if (!filter.bot.empty() && entry.bot != filter.bot) return false;
  if (!filter.chat.empty() && entry.chat_id != filter.chat) return false;
  return contains_ignoring_case(entry.text, filter.text) ||
         contains_ignoring_case(entry.user, filter.text);
}

}  // namespace

std::string log_text(const OutgoingMessage& message) {
  if (const auto& recall = message.recall) {
    return recall->message != 0 ? "[recall] message " + std::to_string(recall->message)
                                : "[recall] " + recall->platform_message_id;
  }
  std::string text = message.plain_text();
  for (const Segment& segment : message.segments) {
    if (const auto* image = std::get_if<Image>(&segment)) {
      if (!text.empty()) text += ' ';
      text += "[image] " + image->url;
    }
  }
  return text;
}

MessageLog::MessageLog(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  index_.reserve(capacity_);
}

LogEntry MessageLog::incoming(const Event& event) {
  LogEntry entry;
  entry.id = "in:" + event.id;
  entry.time = std::chrono::system_clock::now();
  entry.bot = event.bot;
  entry.platform = event.platform;
  entry.chat_id = event.chat.id;
  entry.incoming = true;
  entry.user = event.sender.name.empty() ? event.sender.id : event.sender.name;
  if (event.message) entry.text = event.message->text;
  entry.outcome = LogOutcome::received;
  return entry;
}

LogEntry MessageLog::outgoing(const OutgoingMessage& message, const std::string& platform,
                              const std::string& event_id, LogOutcome outcome) {
  LogEntry entry;
  entry.id = "out:" + message.idempotency_key;
  entry.time = std::chrono::system_clock::now();
  entry.bot = message.bot;
  entry.platform = platform;
  entry.chat_id = message.chat_id;
  entry.incoming = false;
  entry.text = log_text(message);
  entry.outcome = outcome;
  if (!event_id.empty()) entry.reply_to = "in:" + event_id;
  return entry;
}

void MessageLog::add(LogEntry entry) {
  const std::size_t id_hash = std::hash<std::string>{}(entry.id);
  std::lock_guard lock(mutex_);
  publish(put(std::move(entry), id_hash));
}

void MessageLog::add_shared(LogEntry entry) {
  const std::size_t id_hash = std::hash<std::string>{}(entry.id);
  std::lock_guard lock(mutex_);
  put(std::move(entry), id_hash);
}

LogEntry& MessageLog::put(LogEntry entry, std::size_t id_hash) {
  LogEntry* existing = find(entry.id, id_hash);
  if (!existing) return insert(std::move(entry), id_hash);
  if (entry.outcome == LogOutcome::queued && existing->outcome != LogOutcome::queued) {
    // With several instances, the one that queued a reply and the one that sends it each log
    // it, and the two entries may arrive in either order: what the delivery says stands.
    entry.outcome = existing->outcome;
    entry.error = std::move(existing->error);
    entry.attempts = existing->attempts;
  }
  entry.seq = ++seq_;
  *existing = std::move(entry);
  wake();
  return *existing;
}

void MessageLog::delivery(const OutgoingMessage& message, const std::string& platform,
                          LogOutcome outcome, const std::string& error, int attempts) {
  const std::string id = "out:" + message.idempotency_key;
  const std::size_t id_hash = std::hash<std::string>{}(id);
  std::lock_guard lock(mutex_);
  LogEntry* entry = find(id, id_hash);
  if (!entry) {
    LogEntry added = outgoing(message, platform, "", outcome);
    added.error = error;
    added.attempts = attempts;
    publish(insert(std::move(added), id_hash));
    return;
  }
  entry->outcome = outcome;
  entry->error = error;
  entry->attempts = attempts;
  entry->seq = ++seq_;
  wake();
  publish(*entry);
}

void MessageLog::update_text(const std::string& log_id, std::string text) {
  const std::size_t id_hash = std::hash<std::string>{}(log_id);
  std::lock_guard lock(mutex_);
  LogEntry* entry = find(log_id, id_hash);
  if (!entry) return;
  entry->text = std::move(text);
  entry->seq = ++seq_;
  wake();
  publish(*entry);
}

LogEntry* MessageLog::find(const std::string& id, std::size_t id_hash) {
  auto it = index_.find(id_hash);
  if (it == index_.end() || it->second < first_index_) return nullptr;
  LogEntry& entry = entries_[it->second - first_index_];
  return entry.id == id ? &entry : nullptr;
}

LogEntry& MessageLog::insert(LogEntry entry, std::size_t id_hash) {
  if (entries_.size() == capacity_) {
    auto it = index_.find(std::hash<std::string>{}(entries_.front().id));
    if (it != index_.end() && it->second == first_index_) index_.erase(it);
    entries_.pop_front();
    ++first_index_;
  }
  entry.seq = ++seq_;
  index_[id_hash] = first_index_ + entries_.size();
  entries_.push_back(std::move(entry));
  wake();
  return entries_.back();
}

void MessageLog::wake() {
  for (auto& timer : waiters_) {
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  waiters_.clear();
}

std::vector<LogEntry> MessageLog::query(const LogFilter& filter) const {
  note_read();
  std::vector<LogEntry> out;
  {
    std::lock_guard lock(mutex_);
    for (const LogEntry& entry : entries_) {
      if (matches(entry, filter)) out.push_back(entry);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LogEntry& a, const LogEntry& b) { return a.seq < b.seq; });
  if (out.size() > filter.limit) {
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(filter.limit));
  }
  return out;
}

std::uint64_t MessageLog::seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

asio::awaitable<void> MessageLog::wait_for_change(std::uint64_t after,
                                                  std::chrono::milliseconds timeout) {
  note_read();
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  timer->expires_after(timeout);
  {
    std::lock_guard lock(mutex_);
    if (seq_ > after || closed_) co_return;
    waiters_.push_back(timer);
  }
  // A wake() between the unlock and this wait posts its cancel to this coroutine's executor,
  // which runs it only after the wait has started.
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  std::erase(waiters_, timer);
}

void MessageLog::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  wake();
}

}  // namespace botgate
