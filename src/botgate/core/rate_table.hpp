#pragma once
/// The Store's rate limits (Store::rate_take, Store::rate_hold in core/store.hpp) for a store that
/// one process alone uses (the SQLite store, the tests' memory store): a sliding window and a
/// hold per key, in memory, with the same guarantees. Nothing is kept across a restart, which
/// one process cannot see: a process started again counts from zero.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace botgate {

/// Thread safety: every method may be called from any thread; one mutex guards the keys.
///
///   RateTable rates;
///   if (auto wait = rates.take("wecom:webhook:..", 20, 61s)) return rate_limited(*wait);
class RateTable {
 public:
  using Clock = std::chrono::steady_clock;

  /// Store::rate_take at `now`: takes one use of `key` when fewer than `limit` (at least 1) uses
  /// of it fall in the window (now - window, now] and it is not held, and returns nullopt.
  /// Otherwise takes nothing and returns how long until a use may be taken: until the hold ends
  /// or the oldest use that has to go leaves the window, whichever is later (at least 1 ms).
  std::optional<std::chrono::milliseconds> take(const std::string& key, std::size_t limit,
                                                std::chrono::milliseconds window,
                                                Clock::time_point now = Clock::now());

  /// Store::rate_hold at `now`: no use of `key` is given until now + `duration` (a hold that
  /// ends later stays).
  void hold(const std::string& key, std::chrono::milliseconds duration,
            Clock::time_point now = Clock::now());

  /// How many uses of `key` fall in its window (the one its last take named) ending at `now`.
  std::size_t in_window(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Entry {
    std::deque<Clock::time_point> uses;  // oldest first
    Clock::duration window{};            // the window of the last take
    Clock::time_point held_until{};
  };
  static void expire(Entry& entry, Clock::time_point now);
  void sweep(Clock::time_point now);

  std::mutex mutex_;  // guards entries_
  std::map<std::string, Entry> entries_;
};

}  // namespace botgate
