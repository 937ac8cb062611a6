#include "botgate/core/log_rate_limit.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using Clock = LogRateLimit::Clock;

TEST(LogRateLimit, FirstLineGoesThroughWithNothingHeld) {
  LogRateLimit limit;
  const Clock::time_point t0{};
  EXPECT_EQ(limit.admit(t0), std::optional<std::uint64_t>(0));
}

TEST(LogRateLimit, AtMostOneLinePerIntervalAndTheNextCountsTheRest) {
  LogRateLimit limit(1s);
  const Clock::time_point t0 = Clock::time_point{} + 100s;
  ASSERT_TRUE(limit.admit(t0));
  // A flood within the second: all held back.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limit.admit(t0 + std::chrono::microseconds(i * 900)));
  }
  EXPECT_FALSE(limit.admit(t0 + 999ms));
  // The first line of the next second goes through and says how many were held back.
  EXPECT_EQ(limit.admit(t0 + 1s), std::optional<std::uint64_t>(1001));
  // The count starts again.
  EXPECT_FALSE(limit.admit(t0 + 1500ms));
  EXPECT_EQ(limit.admit(t0 + 2s), std::optional<std::uint64_t>(1));
}

TEST(LogRateLimit, AQuietSpellLetsTheNextLineThroughAtOnce) {
  LogRateLimit limit(1s);
  const Clock::time_point t0 = Clock::time_point{} + 5s;
  ASSERT_TRUE(limit.admit(t0));
  EXPECT_EQ(limit.admit(t0 + 1h), std::optional<std::uint64_t>(0));
  EXPECT_FALSE(limit.admit(t0 + 1h + 1ms));
}

TEST(LogRateLimit, IntervalIsConfigurable) {
  LogRateLimit limit(10ms);
  const Clock::time_point t0{};
  ASSERT_TRUE(limit.admit(t0));
  EXPECT_FALSE(limit.admit(t0 + 9ms));
  EXPECT_EQ(limit.admit(t0 + 10ms), std::optional<std::uint64_t>(1));
}

TEST(SuppressedNote, NamesTheCountOnlyWhenThereIsOne) {
  EXPECT_EQ(suppressed_note(0), "");
  EXPECT_EQ(suppressed_note(1), " (1 similar line suppressed)");
  EXPECT_EQ(suppressed_note(41), " (41 similar lines suppressed)");
}

}  // namespace
}  // namespace botgate
