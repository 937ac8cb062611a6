#pragma once
/// Exponential backoff with full jitter. Pure: the caller supplies the random source.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace botgate {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{300'000};
  double multiplier = 2.0;
};

/// A number in [0, 1) for backoff jitter, from a generator per thread.
double unit_random();

/// The delay before attempt `attempt` (1 = the first retry): a value in [cap/2, cap] where cap
/// grows from `initial` by `multiplier` up to `max`. `unit_random` is in [0, 1).
inline std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                               double unit_random) {
  double cap = static_cast<double>(policy.initial.count());
  for (int i = 1; i < attempt && cap < static_cast<double>(policy.max.count()); ++i) {
    cap *= policy.multiplier;
  }
  cap = std::min(cap, static_cast<double>(policy.max.count()));
  const double jittered = cap / 2 + cap / 2 * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(jittered));
}

}  // namespace botgate
