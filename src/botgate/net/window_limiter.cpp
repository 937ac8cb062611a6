#include "botgate/net/window_limiter.hpp"

#include <algorithm>
#include <iterator>

namespace botgate::net {
namespace {

// Keys come and go (WeCom: one webhook per group chat); idle ones are dropped once there are
// this many, so the map stays small in a long run.
constexpr std::size_t kSweepAbove = 256;

}  // namespace

WindowLimiter::WindowLimiter(std::size_t limit, std::chrono::milliseconds window)
    : limit_(std::max<std::size_t>(limit, 1)), window_(window) {}

void WindowLimiter::expire(std::deque<Clock::time_point>& uses, Clock::time_point now) const {
  while (!uses.empty() && uses.front() + window_ <= now) uses.pop_front();
}

std::optional<std::chrono::milliseconds> WindowLimiter::acquire(const std::string& key,
                                                                Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (uses_.size() > kSweepAbove) {
    for (auto it = uses_.begin(); it != uses_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? uses_.erase(it) : std::next(it);
    }
  }
  auto& uses = uses_[key];
  expire(uses, now);
  if (uses.size() < limit_) {
    uses.push_back(now);
    return std::nullopt;
  }
  // Rounded up, so that waiting this long always frees a use.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(uses.front() + window_ - now);
  return std::max(wait, std::chrono::milliseconds(1));
}

std::size_t WindowLimiter::in_window(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = uses_.find(key);
  if (it == uses_.end()) return 0;
  expire(it->second, now);
  return it->second.size();
}

}  // namespace botgate::net
