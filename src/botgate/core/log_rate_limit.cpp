#include "botgate/core/log_rate_limit.hpp"

namespace botgate {

LogRateLimit::LogRateLimit(Clock::duration interval) : interval_(interval) {}

std::optional<std::uint64_t> LogRateLimit::admit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (next_ && now < *next_) {
    ++held_;
    return std::nullopt;
  }
  next_ = now + interval_;
  const std::uint64_t held = held_;
  held_ = 0;
  return held;
}

std::string suppressed_note(std::uint64_t held) {
  if (held == 0) return {};
  return " (" + std::to_string(held) + (held == 1 ? " similar line" : " similar lines") +
         " suppressed)";
}

}  // namespace botgate
