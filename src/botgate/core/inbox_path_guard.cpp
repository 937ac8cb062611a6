#include "botgate/core/inbox_path_guard.hpp"

#include "botgate/core/event.hpp"

namespace botgate {

bool InboxPathGuard::may_handle_now(const Event& event, bool must_queue) {
  std::lock_guard lock(mutex_);
  if (inbox_known_ && !must_queue) {
    // Most events: no chat waits, and the chat's lane name need not be built.
    if (events_in_lane_.empty()) return true;
    if (!events_in_lane_.contains(chat_lane(event.chat.type, event.chat.id))) return true;
  }
  count_locked(event);
  return false;
}

void InboxPathGuard::queued(const Event& event) {
  std::lock_guard lock(mutex_);
  count_locked(event);
}

void InboxPathGuard::taken(const std::vector<InboxItem>& items, bool whole) {
  std::lock_guard lock(mutex_);
  for (const InboxItem& item : items) {
    if (!lane_of_event_.contains(item.event.id)) count_locked(item.event);
  }
  if (whole) inbox_known_ = true;
}

void InboxPathGuard::left(const std::string& event_id) {
  std::lock_guard lock(mutex_);
  auto it = lane_of_event_.find(event_id);
  if (it == lane_of_event_.end()) return;
  auto lane = events_in_lane_.find(it->second);
  if (lane != events_in_lane_.end() && --lane->second == 0) events_in_lane_.erase(lane);
  lane_of_event_.erase(it);
}

void InboxPathGuard::count_locked(const Event& event) {
  std::string lane = chat_lane(event.chat.type, event.chat.id);
  if (!lane_of_event_.emplace(event.id, lane).second) return;  // counted already
  ++events_in_lane_[std::move(lane)];
}

}  // namespace botgate
