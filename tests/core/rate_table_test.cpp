#include "botgate/core/rate_table.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using Clock = RateTable::Clock;
using Wait = std::optional<std::chrono::milliseconds>;

// Far from the clock's epoch, so that "before t0" exists; a fixed clock: no sleeps.
const Clock::time_point t0 = Clock::time_point{} + 24h;

TEST(RateTableTest, AllowsTheLimitThenSaysHowLongToWait) {
  RateTable rates;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(rates.take("k", 20, 60s, t0 + i * 1s), std::nullopt) << i;
  }
  EXPECT_EQ(rates.in_window("k", t0 + 19s), 20u);
  // The 21st at t0 + 30 s waits until the first (t0) leaves the window at t0 + 60 s.
  EXPECT_EQ(rates.take("k", 20, 60s, t0 + 30s), Wait(30s));
  EXPECT_EQ(rates.in_window("k", t0 + 30s), 20u) << "a refused use is not counted";
  EXPECT_EQ(rates.take("k", 20, 60s, t0 + 60s - 1ms), Wait(1ms));
  EXPECT_EQ(rates.take("k", 20, 60s, t0 + 60s), std::nullopt);
  // Now the second use (t0 + 1 s) is the oldest.
  EXPECT_EQ(rates.take("k", 20, 60s, t0 + 60s + 500ms), Wait(500ms));
}

TEST(RateTableTest, KeysHaveTheirOwnWindows) {
  RateTable rates;
  EXPECT_EQ(rates.take("a", 2, 60s, t0), std::nullopt);
  EXPECT_EQ(rates.take("a", 2, 60s, t0), std::nullopt);
  EXPECT_TRUE(rates.take("a", 2, 60s, t0).has_value());
  EXPECT_EQ(rates.take("b", 2, 60s, t0), std::nullopt);
  EXPECT_EQ(rates.in_window("b", t0), 1u);
  EXPECT_EQ(rates.in_window("never used", t0), 0u);
}

TEST(RateTableTest, ALowerLimitWaitsUntilEnoughUsesLeft) {
  RateTable rates;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rates.take("k", 5, 10s, t0 + i * 1s), std::nullopt);
  // Four of the five uses (t0 .. t0 + 3 s) have to leave for fewer than 2 to be in the window:
  // the fourth leaves at t0 + 13 s.
  EXPECT_EQ(rates.take("k", 2, 10s, t0 + 5s), Wait(8s));
}

TEST(RateTableTest, AWaitBelowAMillisecondIsRoundedUpNeverZero) {
  RateTable rates;
  EXPECT_EQ(rates.take("k", 1, 60s, t0), std::nullopt);
  EXPECT_EQ(rates.take("k", 1, 60s, t0 + 60s - 1us), Wait(1ms));
}

TEST(RateTableTest, AHoldRefusesEveryUseUntilItEnds) {
  RateTable rates;
  rates.hold("k", 5s, t0);
  EXPECT_EQ(rates.take("k", 100, 1s, t0 + 1s), Wait(4s));
  rates.hold("k", 1s, t0 + 1s);  // ends earlier: the longer one stays
  EXPECT_EQ(rates.take("k", 100, 1s, t0 + 3s), Wait(2s));
  EXPECT_EQ(rates.in_window("k", t0 + 3s), 0u) << "nothing was taken while held";
  EXPECT_EQ(rates.take("other", 100, 1s, t0 + 3s), std::nullopt);
  EXPECT_EQ(rates.take("k", 100, 1s, t0 + 5s), std::nullopt);
}

TEST(RateTableTest, AHeldKeyWithAFullWindowWaitsForTheLaterOfBoth) {
  RateTable rates;
  EXPECT_EQ(rates.take("k", 1, 10s, t0), std::nullopt);
  rates.hold("k", 3s, t0);
  EXPECT_EQ(rates.take("k", 1, 10s, t0 + 1s), Wait(9s));
}

TEST(RateTableTest, ManyIdleKeysAreForgotten) {
  RateTable rates;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(rates.take("key-" + std::to_string(i), 1, 1s, t0 + i * 10ms), std::nullopt);
  }
  rates.hold("held", 2h, t0);
  // Long after: the old keys are swept, and each is usable again; a hold still running stays.
  EXPECT_EQ(rates.take("key-0", 1, 1s, t0 + 1h), std::nullopt);
  EXPECT_EQ(rates.in_window("key-999", t0 + 1h), 0u);
  EXPECT_TRUE(rates.take("held", 1, 1s, t0 + 1h).has_value());
}

}  // namespace
}  // namespace botgate
