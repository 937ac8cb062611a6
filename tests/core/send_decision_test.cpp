#include "botgate/core/send_decision.hpp"

#include <gtest/gtest.h>

namespace botgate {
namespace {

using namespace std::chrono_literals;

const BackoffPolicy kBackoff{100ms, 1000ms, 2.0};

SendDecision decide(const Error& error, int attempt, double random = 0.0) {
  return decide_after_failure(error, attempt, 5, kBackoff, random);
}

TEST(SendDecisionTest, AnUncertainDeliveryIsNeverSentAgain) {
  EXPECT_EQ(decide(Error{errc::delivery_uncertain, "lost answer"}, 1).kind,
            SendDecision::uncertain);
}

TEST(SendDecisionTest, WhatCannotSucceedFailsAtOnce) {
  for (errc code : {errc::platform_rejected, errc::invalid_argument, errc::not_found}) {
    EXPECT_EQ(decide(Error{code, "no"}, 1).kind, SendDecision::failed) << static_cast<int>(code);
  }
}

TEST(SendDecisionTest, RetryableErrorsBackOffUntilTheAttemptsAreUsedUp) {
  const Error outage{errc::platform_unavailable, "502"};
  const SendDecision first = decide(outage, 1, 0.0);
  ASSERT_EQ(first.kind, SendDecision::retry);
  EXPECT_EQ(first.delay, 50ms) << "half of the first cap with the lowest jitter";
  EXPECT_EQ(decide(outage, 2, 0.999).delay.count(), 199);
  EXPECT_EQ(decide(outage, 4).kind, SendDecision::retry);
  EXPECT_EQ(decide(outage, 5).kind, SendDecision::failed) << "the fifth of five";
  EXPECT_EQ(decide(Error{errc::timeout, "t"}, 1).kind, SendDecision::retry);
  EXPECT_EQ(decide(Error{errc::token_rejected, "t"}, 1).kind, SendDecision::retry);
}

TEST(SendDecisionTest, ARateLimitNeverUsesUpTheAttemptsAndKeepsThePlatformsDelay) {
  const Error limited{errc::rate_limited, "429", 1234ms};
  const SendDecision decision = decide(limited, 50);
  ASSERT_EQ(decision.kind, SendDecision::retry);
  EXPECT_EQ(decision.delay, 1234ms);
  const SendDecision without_delay = decide(Error{errc::rate_limited, "429"}, 50, 0.0);
  ASSERT_EQ(without_delay.kind, SendDecision::retry);
  EXPECT_EQ(without_delay.delay, 500ms) << "the backoff's cap, as the attempt is high";
}

}  // namespace
}  // namespace botgate
