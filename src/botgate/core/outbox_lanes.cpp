#include "botgate/core/outbox_lanes.hpp"

#include <algorithm>
#include <utility>

namespace botgate {

OutboxLanes::OutboxLanes(std::size_t lane_depth, std::size_t capacity)
    : lane_depth_(std::max<std::size_t>(lane_depth, 1)),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

std::size_t OutboxLanes::room() const noexcept {
  return held() >= capacity_ ? 0 : capacity_ - held();
}

void OutboxLanes::add(std::vector<OutboxItem> items) {
  for (OutboxItem& item : items) {
    auto it = lanes_.try_emplace(item.message.lane()).first;
    Lane& lane = it->second;
    const bool was_idle_and_empty = lane.items.empty() && !lane.sending && !lane.waiting;
    lane.items.push_back(std::move(item));
    ++queued_;
    if (was_idle_and_empty) make_ready(it);
  }
}

std::vector<std::string> OutboxLanes::start(TimePoint now, std::size_t max) {
  // Lanes whose retry time has come join the others, ordered by their first message.
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    auto it = lanes_.find(*waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    it->second.waiting = false;
    make_ready(it);
  }
  std::vector<std::string> started;
  while (started.size() < max && !ready_.empty()) {
    const std::string& key = *ready_.begin()->second;
    ready_.erase(ready_.begin());
    lanes_.at(key).sending = true;
    ++in_flight_;
    started.push_back(key);
  }
  return started;
}

const OutboxItem& OutboxLanes::front(const std::string& lane) const {
  return lanes_.at(lane).items.front();
}

void OutboxLanes::retry(const std::string& key, TimePoint at) {
  auto it = lanes_.find(key);
  Lane& lane = it->second;
  ++lane.items.front().attempts;
  lane.sending = false;
  --in_flight_;
  lane.waiting = true;
  waiting_.emplace(at, &it->first);
}

void OutboxLanes::finish(const std::string& key, bool recording) {
  auto it = lanes_.find(key);
  it->second.items.pop_front();
  it->second.sending = false;
  --queued_;
  --in_flight_;
  if (recording) ++recording_;
  if (!it->second.items.empty()) make_ready(it);
  erase_if_done(it);
}

void OutboxLanes::recorded() { --recording_; }

std::optional<OutboxLanes::TimePoint> OutboxLanes::next_retry(TimePoint now) const {
  const auto later = waiting_.upper_bound(now);
  if (later == waiting_.end()) return std::nullopt;
  return later->first;
}

void OutboxLanes::make_ready(Lanes::iterator it) {
  ready_.emplace(it->second.items.front().id, &it->first);
}

void OutboxLanes::erase_if_done(Lanes::iterator it) {
  if (it->second.items.empty() && !it->second.sending) lanes_.erase(it);
}

}  // namespace botgate
