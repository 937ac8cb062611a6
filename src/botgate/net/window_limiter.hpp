#pragma once
/// A sliding-window limit per key: at most `limit` uses in any `window` (WeCom group bots: 20
/// messages a minute per webhook). Senders ask before calling the platform, so that a bot over
/// its limit waits locally instead of collecting the platform's rate-limit errors.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace botgate::net {

/// Thread safety: every method may be called from any thread; one mutex guards the windows.
///
///   WindowLimiter limiter(20, std::chrono::minutes(1));
///   if (auto wait = limiter.acquire(webhook_key)) return Error{errc::rate_limited, "..", *wait};
class WindowLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  WindowLimiter(std::size_t limit, std::chrono::milliseconds window);

  /// Takes one use of `key` at `now` when fewer than `limit` uses of it fall in the window
  /// (now - window, now], and returns nullopt. Otherwise takes nothing and returns how long until
  /// the oldest use leaves the window (always more than zero).
  std::optional<std::chrono::milliseconds> acquire(const std::string& key,
                                                   Clock::time_point now = Clock::now());

  /// How many uses of `key` fall in the window ending at `now`.
  std::size_t in_window(const std::string& key, Clock::time_point now = Clock::now());

 private:
  void expire(std::deque<Clock::time_point>& uses, Clock::time_point now) const;

  const std::size_t limit_;
  const std::chrono::milliseconds window_;
  std::mutex mutex_;  // guards uses_
  std::map<std::string, std::deque<Clock::time_point>> uses_;
};

}  // namespace botgate::net
