#include "botgate/core/rate_table.hpp"

#include <algorithm>
#include <iterator>

namespace botgate {
namespace {

using std::chrono::milliseconds;

// Keys come and go (WeCom: one webhook per group chat); idle ones are dropped once there are
// this many, so the map stays small in a long run.
constexpr std::size_t kSweepAbove = 256;

/// Rounded up, so that waiting this long always frees what it waited for; never zero.
milliseconds wait_until(RateTable::Clock::time_point then, RateTable::Clock::time_point now) {
  return std::max(std::chrono::ceil<milliseconds>(then - now), milliseconds(1));
}

}  // namespace

void RateTable::expire(Entry& entry, Clock::time_point now) {
  while (!entry.uses.empty() && entry.uses.front() + entry.window <= now) entry.uses.pop_front();
}

void RateTable::sweep(Clock::time_point now) {
  if (entries_.size() <= kSweepAbove) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    expire(it->second, now);
    const bool idle = it->second.uses.empty() && it->second.held_until <= now;
    it = idle ? entries_.erase(it) : std::next(it);
  }
}

std::optional<milliseconds> RateTable::take(const std::string& key, std::size_t limit,
                                            milliseconds window, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  sweep(now);
  Entry& entry = entries_[key];
  entry.window = window;
  expire(entry, now);
  limit = std::max<std::size_t>(limit, 1);
  std::optional<milliseconds> wait;
  if (entry.held_until > now) wait = wait_until(entry.held_until, now);
  if (entry.uses.size() >= limit) {
    // The use that has to leave for the count to fall below the limit.
    const auto frees_at = entry.uses[entry.uses.size() - limit] + window;
    wait = std::max(wait.value_or(milliseconds(0)), wait_until(frees_at, now));
  }
  if (!wait) entry.uses.push_back(now);
  return wait;
}

void RateTable::hold(const std::string& key, milliseconds duration, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  sweep(now);
  Entry& entry = entries_[key];
  entry.held_until = std::max(entry.held_until, now + duration);
}

std::size_t RateTable::in_window(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  expire(it->second, now);
  return it->second.uses.size();
}

}  // namespace botgate
