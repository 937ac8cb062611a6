#pragma once
/// Rate limiting for log lines that an outsider can make repeat (one per request or per
/// connection): a flood of bad requests, or a full file table failing every accept, must not
/// turn into a flood of log lines (1.4 million "accept failed" lines in 10 s, before this).
///
/// As the kernel's printk_ratelimit does: the first line of each interval is written, the rest
/// are counted, and the next line written says how many were held back.
///
///   static LogRateLimit limit;
///   if (auto held = limit.admit()) {
///     spdlog::warn("http server: accept failed: {}{}", ec.message(), suppressed_note(*held));
///   }

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace botgate {

/// Thread safety: `admit` may be called from any thread; one mutex guards the counters.
class LogRateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogRateLimit(Clock::duration interval = std::chrono::seconds(1));

  /// Whether a line may be written at `now`: at most one per interval. When it may, returns how
  /// many lines were held back since the last one written (0 for none); nullopt when this one is
  /// held back (and counted).
  std::optional<std::uint64_t> admit(Clock::time_point now = Clock::now());

 private:
  const Clock::duration interval_;
  std::mutex mutex_;  // guards next_ and held_
  std::optional<Clock::time_point> next_;  // when the next line may be written
  std::uint64_t held_ = 0;
};

/// " (N similar lines suppressed)" for N > 0, "" for 0: the tail of the line `admit` let through.
std::string suppressed_note(std::uint64_t held);

}  // namespace botgate
