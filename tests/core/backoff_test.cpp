#include "botgate/core/backoff.hpp"

#include <gtest/gtest.h>

namespace botgate {
namespace {

using std::chrono::milliseconds;

const BackoffPolicy kPolicy{milliseconds(100), milliseconds(1000), 2.0};

TEST(BackoffTest, TopOfTheRangeGrowsByTheMultiplier) {
  // unit_random 1 gives the cap itself.
  EXPECT_EQ(backoff_delay(kPolicy, 1, 1.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(kPolicy, 2, 1.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(kPolicy, 3, 1.0), milliseconds(400));
  EXPECT_EQ(backoff_delay(kPolicy, 4, 1.0), milliseconds(800));
}

TEST(BackoffTest, CapStopsAtMax) {
  EXPECT_EQ(backoff_delay(kPolicy, 5, 1.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(kPolicy, 6, 1.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(kPolicy, 1000, 1.0), milliseconds(1000));
  // Huge attempt counts neither overflow nor loop for long.
  EXPECT_EQ(backoff_delay(BackoffPolicy{}, 1'000'000'000, 1.0), milliseconds(300'000));
}

TEST(BackoffTest, NonPositiveAttemptsUseTheInitialDelay) {
  EXPECT_EQ(backoff_delay(kPolicy, 0, 1.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(kPolicy, -3, 1.0), milliseconds(100));
}

TEST(BackoffTest, JitterStaysWithinHalfCapAndCap) {
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const double cap = std::min(100.0 * (1 << (attempt - 1)), 1000.0);
    for (double r : {0.0, 0.001, 0.25, 0.5, 0.75, 0.999999}) {
      const auto delay = backoff_delay(kPolicy, attempt, r);
      EXPECT_GE(delay.count(), static_cast<std::int64_t>(cap / 2)) << attempt << " " << r;
      EXPECT_LE(delay.count(), static_cast<std::int64_t>(cap)) << attempt << " " << r;
    }
    EXPECT_EQ(backoff_delay(kPolicy, attempt, 0.0).count(), static_cast<std::int64_t>(cap / 2));
  }
}

TEST(BackoffTest, JitterIsMonotonicInTheRandomValue) {
  milliseconds previous{0};
  for (int i = 0; i <= 100; ++i) {
    const auto delay = backoff_delay(kPolicy, 4, i / 100.0);
    EXPECT_GE(delay, previous);
    previous = delay;
  }
}

TEST(BackoffTest, OutOfRangeRandomValuesAreClamped) {
  EXPECT_EQ(backoff_delay(kPolicy, 3, -5.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(kPolicy, 3, 7.0), milliseconds(400));
}

TEST(BackoffTest, OtherMultipliers) {
  const BackoffPolicy triple{milliseconds(10), milliseconds(500), 3.0};
  EXPECT_EQ(backoff_delay(triple, 1, 1.0), milliseconds(10));
  EXPECT_EQ(backoff_delay(triple, 2, 1.0), milliseconds(30));
  EXPECT_EQ(backoff_delay(triple, 3, 1.0), milliseconds(90));
  EXPECT_EQ(backoff_delay(triple, 5, 1.0), milliseconds(500));  // 810 capped
  const BackoffPolicy constant{milliseconds(50), milliseconds(500), 1.0};
  EXPECT_EQ(backoff_delay(constant, 10, 1.0), milliseconds(50));
}

TEST(BackoffTest, InitialAboveMaxIsCapped) {
  const BackoffPolicy odd{milliseconds(5000), milliseconds(1000), 2.0};
  EXPECT_EQ(backoff_delay(odd, 1, 1.0), milliseconds(1000));
}

}  // namespace
}  // namespace botgate
