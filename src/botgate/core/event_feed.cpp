#include "botgate/core/event_feed.hpp"

#include <algorithm>
#include <functional>
#include <string_view>

namespace botgate {

EventFeed::EventFeed(std::size_t capacity, std::int64_t head)
    : capacity_(std::max<std::size_t>(capacity, 1)), floor_(head), head_(head) {}

void EventFeed::start_at(std::int64_t head) {
  std::lock_guard lock(mutex_);
  floor_ = std::max(floor_, head);
  head_ = std::max(head_, head);
}

void EventFeed::publish(LoggedEvent event) {
  auto entry = std::make_shared<const LoggedEvent>(std::move(event));
  std::vector<std::function<void(std::int64_t)>> woken;
  {
    std::lock_guard lock(mutex_);
    // An event the feed started after (the store told it before start_at's head) is not new.
    if (entry->cursor <= head_) return;
    head_ = entry->cursor;
    ++published_;
    if (window_.size() == capacity_) {
      floor_ = window_.front().cursor;
      window_.pop_front();
    }
    window_.push_back(Slot{entry->cursor, std::hash<std::string_view>{}(entry->chat), entry});
    if (auto chat = waiters_by_chat_.find(entry->chat); chat != waiters_by_chat_.end()) {
      take_matching(chat->second, *entry, woken);
    }
    take_matching(waiters_any_chat_, *entry, woken);
  }
  for (auto& wake : woken) wake(entry->cursor);
}

void EventFeed::take_matching(std::vector<std::uint64_t>& ids, const LoggedEvent& entry,
                              std::vector<std::function<void(std::int64_t)>>& woken) {
  // Wake-up order does not matter: the woken are taken out by swapping in the last one.
  for (std::size_t i = 0; i < ids.size();) {
    auto waiter = waiters_.find(ids[i]);
    if (waiter->second.filter->matches(entry.bot, entry.platform, entry.chat)) {
      woken.push_back(std::move(waiter->second.wake));
      waiters_.erase(waiter);
      ids[i] = ids.back();
      ids.pop_back();
    } else {
      ++i;
    }
  }
}

namespace {

void remove_id(std::vector<std::uint64_t>& ids, std::uint64_t id) {
  if (auto it = std::find(ids.begin(), ids.end(), id); it != ids.end()) {
    *it = ids.back();
    ids.pop_back();
  }
}

}  // namespace

void EventFeed::forget(std::unordered_map<std::uint64_t, Waiter>::iterator it) {
  const std::string& chat = it->second.filter->chat;
  if (chat.empty()) {
    remove_id(waiters_any_chat_, it->first);
  } else if (auto ids = waiters_by_chat_.find(chat); ids != waiters_by_chat_.end()) {
    remove_id(ids->second, it->first);
    if (ids->second.empty()) waiters_by_chat_.erase(ids);
  }
  waiters_.erase(it);
}

std::int64_t EventFeed::head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

bool EventFeed::slot_matches(const Slot& slot, const EventFilter& filter,
                             std::size_t chat_hash) {
  if (!filter.chat.empty() && slot.chat_hash != chat_hash) return false;
  const LoggedEvent& event = *slot.entry;
  return filter.matches(event.bot, event.platform, event.chat);
}

std::size_t EventFeed::first_after(std::int64_t after) const {
  const auto it = std::upper_bound(
      window_.begin(), window_.end(), after,
      [](std::int64_t cursor, const Slot& slot) { return cursor < slot.cursor; });
  return static_cast<std::size_t>(it - window_.begin());
}

EventFeed::Batch EventFeed::read(std::int64_t after, const EventFilter& filter,
                                 std::size_t limit) const {
  Batch batch;
  std::lock_guard lock(mutex_);
  batch.window_floor = floor_;
  if (after < floor_) {
    batch.behind = true;
    batch.next_after = after;
    return batch;
  }
  batch.next_after = std::max(after, floor_);
  const std::size_t chat_hash = std::hash<std::string_view>{}(filter.chat);
  for (std::size_t i = first_after(after); i < window_.size(); ++i) {
    const Slot& slot = window_[i];
    if (batch.events.size() >= limit) break;
    batch.next_after = slot.cursor;
    if (slot_matches(slot, filter, chat_hash)) batch.events.push_back(slot.entry);
  }
  return batch;
}

bool EventFeed::has_match_after(std::int64_t after, const EventFilter& filter) const {
  const std::size_t chat_hash = std::hash<std::string_view>{}(filter.chat);
  for (std::size_t i = first_after(after); i < window_.size(); ++i) {
    if (slot_matches(window_[i], filter, chat_hash)) return true;
  }
  return false;
}

std::uint64_t EventFeed::wait(std::int64_t after, const EventFilter& filter,
                              std::function<void(std::int64_t)> wake) {
  std::lock_guard lock(mutex_);
  if (after < floor_ || has_match_after(after, filter)) return 0;
  const std::uint64_t id = next_wait_++;
  waiters_.emplace(id, Waiter{&filter, std::move(wake)});
  if (filter.chat.empty()) {
    waiters_any_chat_.push_back(id);
  } else if (auto ids = waiters_by_chat_.find(filter.chat); ids != waiters_by_chat_.end()) {
    ids->second.push_back(id);
  } else {
    waiters_by_chat_.emplace(filter.chat, std::vector<std::uint64_t>{id});
  }
  return id;
}

std::int64_t EventFeed::cancel_wait(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  const auto it = waiters_.find(id);
  if (it == waiters_.end()) return 0;
  forget(it);
  return head_;
}

std::size_t EventFeed::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

std::uint64_t EventFeed::published() const {
  std::lock_guard lock(mutex_);
  return published_;
}

}  // namespace botgate
