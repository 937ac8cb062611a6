#include "botgate/core/send_decision.hpp"

namespace botgate {

SendDecision decide_after_failure(const Error& error, int attempt, int max_attempts,
                                  const BackoffPolicy& backoff, double unit_random) {
  if (error.is(errc::delivery_uncertain)) return SendDecision{SendDecision::uncertain};
  const bool gave_up = attempt >= max_attempts && !error.is(errc::rate_limited);
  if (!is_retryable(error) || gave_up) return SendDecision{SendDecision::failed};
  return SendDecision{SendDecision::retry,
                      error.retry_after.value_or(backoff_delay(backoff, attempt, unit_random))};
}

}  // namespace botgate
