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
      offer(chat->second, entry, woken);
    }
    offer(waiters_any_chat_, entry, woken);
  }
  for (auto& wake : woken) wake(entry->cursor);
}

void EventFeed::offer(const std::vector<std::uint64_t>& ids, const Entry& entry,
                      std::vector<std::function<void(std::int64_t)>>& woken) {
  for (const std::uint64_t id : ids) {
    Waiter& waiter = waiters_.find(id)->second;
    if (!waiter.filter->matches(entry->bot, entry->platform, entry->chat)) continue;
    if (!waiter.woken) {
      waiter.woken = true;
      woken.push_back(std::move(waiter.wake));
    }
    if (waiter.events.size() < kWaitKeeps) {
      waiter.events.push_back(entry);
    } else {
      waiter.overflowed = true;
    }
  }
}

std::vector<std::uint64_t>* EventFeed::list_of(const Waiter& waiter) {
  const std::string& chat = waiter.filter->chat;
  if (chat.empty()) return &waiters_any_chat_;
  auto ids = waiters_by_chat_.find(chat);
  return ids == waiters_by_chat_.end() ? nullptr : &ids->second;
}

void EventFeed::forget(std::unordered_map<std::uint64_t, Waiter>::iterator it) {
  if (std::vector<std::uint64_t>* ids = list_of(it->second)) {
    const std::size_t slot = it->second.slot;
    (*ids)[slot] = ids->back();
    waiters_.find((*ids)[slot])->second.slot = slot;
    ids->pop_back();
    if (ids->empty() && !it->second.filter->chat.empty()) {
      waiters_by_chat_.erase(it->second.filter->chat);
    }
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
  std::vector<std::uint64_t>* ids = &waiters_any_chat_;
  if (!filter.chat.empty()) ids = &waiters_by_chat_[filter.chat];
  Waiter waiter{&filter, std::move(wake)};
  waiter.slot = ids->size();
  waiters_.emplace(id, std::move(waiter));
  ids->push_back(id);
  return id;
}

EventFeed::WaitEnd EventFeed::end_wait(std::uint64_t id) {
  WaitEnd end;
  std::lock_guard lock(mutex_);
  const auto it = waiters_.find(id);
  if (it == waiters_.end()) return end;
  Waiter& waiter = it->second;
  end.more = waiter.overflowed;
  end.through = waiter.overflowed ? waiter.events.back()->cursor : head_;
  end.events = std::move(waiter.events);
  forget(it);
  return end;
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
