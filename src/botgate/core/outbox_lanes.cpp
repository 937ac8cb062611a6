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
    Lane& lane = lanes_[item.message.lane()];
    lane.items.push_back(std::move(item));
    ++queued_;
  }
}

std::vector<std::string> OutboxLanes::start(TimePoint now, std::size_t max) {
  std::vector<std::pair<std::int64_t, const std::string*>> idle;
  for (const auto& [key, lane] : lanes_) {
    if (!lane.sending && !lane.items.empty() && lane.retry_at <= now) {
      idle.emplace_back(lane.items.front().id, &key);
    }
  }
  std::sort(idle.begin(), idle.end());
  std::vector<std::string> started;
  for (const auto& [id, key] : idle) {
    if (started.size() >= max) break;
    lanes_.at(*key).sending = true;
    ++in_flight_;
    started.push_back(*key);
  }
  return started;
}

const OutboxItem& OutboxLanes::front(const std::string& lane) const {
  return lanes_.at(lane).items.front();
}

void OutboxLanes::retry(const std::string& key, TimePoint at) {
  Lane& lane = lanes_.at(key);
  ++lane.items.front().attempts;
  lane.retry_at = at;
  lane.sending = false;
  --in_flight_;
}

void OutboxLanes::finish(const std::string& key, bool recording) {
  auto it = lanes_.find(key);
  it->second.items.pop_front();
  it->second.sending = false;
  --queued_;
  --in_flight_;
  if (recording) ++recording_;
  erase_if_done(it);
}

void OutboxLanes::recorded() { --recording_; }

std::optional<OutboxLanes::TimePoint> OutboxLanes::next_retry(TimePoint now) const {
  std::optional<TimePoint> next;
  for (const auto& [key, lane] : lanes_) {
    if (lane.sending || lane.items.empty() || lane.retry_at <= now) continue;
    if (!next || lane.retry_at < *next) next = lane.retry_at;
  }
  return next;
}

void OutboxLanes::erase_if_done(std::map<std::string, Lane>::iterator it) {
  if (it->second.items.empty() && !it->second.sending) lanes_.erase(it);
}

}  // namespace botgate
