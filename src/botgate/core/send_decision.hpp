#pragma once
/// What becomes of a message whose send attempt failed: pure, so that every rule of retry,
/// backoff and give-up is tested without a runtime.

#include "botgate/core/backoff.hpp"
#include "botgate/core/error.hpp"

#include <chrono>

namespace botgate {

struct SendDecision {
  enum Kind {
    uncertain,  // it may have arrived and the platform cannot drop a copy: failed, never resent
    failed,     // for good: not retryable, or out of attempts
    retry,      // again after `delay`
  };
  Kind kind = failed;
  std::chrono::milliseconds delay{0};
};

/// The decision after attempt number `attempt` (1 = the first send) failed with `error`. A rate
/// limit is the platform pacing us, not a failure: it never uses up the `max_attempts`. The delay
/// is the platform's (Retry-After) when it gave one, else `backoff` with `unit_random` in [0, 1).
SendDecision decide_after_failure(const Error& error, int attempt, int max_attempts,
                                  const BackoffPolicy& backoff, double unit_random);

}  // namespace botgate
