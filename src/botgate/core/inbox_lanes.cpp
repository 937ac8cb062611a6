#include "botgate/core/inbox_lanes.hpp"

#include <algorithm>

namespace botgate {

InboxLanes::InboxLanes(std::size_t concurrency, std::size_t capacity)
    : concurrency_(std::max<std::size_t>(concurrency, 1)),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

std::size_t InboxLanes::room() const noexcept {
  return held_ >= capacity_ ? 0 : capacity_ - held_;
}

void InboxLanes::add(std::vector<InboxItem> items) {
  for (InboxItem& item : items) {
    std::string key = chat_lane(item.event.chat.type, item.event.chat.id);
    Lane& lane = lanes_[key];
    if (lane.items.empty() && !lane.running) waiting_.push_back(std::move(key));
    lane.items.push_back(std::move(item));
    ++held_;
  }
}

std::optional<std::string> InboxLanes::start_lane() {
  if (running_ >= concurrency_ || waiting_.empty()) return std::nullopt;
  std::string key = std::move(waiting_.front());
  waiting_.pop_front();
  lanes_.at(key).running = true;
  ++running_;
  return key;
}

std::optional<InboxItem> InboxLanes::next(const std::string& key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end() || !it->second.running) return std::nullopt;
  Lane& lane = it->second;
  if (lane.items.empty()) {
    lanes_.erase(it);
    --running_;
    return std::nullopt;
  }
  InboxItem item = std::move(lane.items.front());
  lane.items.pop_front();
  return item;
}

void InboxLanes::abandon(const std::string& key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end() || !it->second.running) return;
  it->second.running = false;
  --running_;
  // Dropped here: the store keeps them, and gives them to the next process.
  held_ -= std::min(held_, it->second.items.size());
  lanes_.erase(it);
}

void InboxLanes::completed(std::size_t count) { held_ -= std::min(held_, count); }

}  // namespace botgate
