#include "botgate/net/window_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace botgate::net {
namespace {

using namespace std::chrono_literals;
using Clock = WindowLimiter::Clock;

TEST(WindowLimiterTest, AllowsTheLimitThenSaysHowLongToWait) {
  WindowLimiter limiter(20, 60s);
  const Clock::time_point t0{};  // a fixed clock: no sleeps
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(limiter.acquire("k", t0 + i * 1s), std::nullopt) << i;
  }
  EXPECT_EQ(limiter.in_window("k", t0 + 19s), 20u);
  // The 21st at t0 + 30 s waits until the first (t0) leaves the window at t0 + 60 s.
  EXPECT_EQ(limiter.acquire("k", t0 + 30s), std::optional<std::chrono::milliseconds>(30s));
  EXPECT_EQ(limiter.in_window("k", t0 + 30s), 20u) << "a refused use is not counted";
  EXPECT_EQ(limiter.acquire("k", t0 + 60s - 1ms), std::optional<std::chrono::milliseconds>(1ms));
  EXPECT_EQ(limiter.acquire("k", t0 + 60s), std::nullopt);
  // Now the second use (t0 + 1 s) is the oldest.
  EXPECT_EQ(limiter.acquire("k", t0 + 60s + 500ms),
            std::optional<std::chrono::milliseconds>(500ms));
}

TEST(WindowLimiterTest, KeysHaveTheirOwnWindows) {
  WindowLimiter limiter(2, 60s);
  const Clock::time_point t0{};
  EXPECT_EQ(limiter.acquire("a", t0), std::nullopt);
  EXPECT_EQ(limiter.acquire("a", t0), std::nullopt);
  EXPECT_TRUE(limiter.acquire("a", t0).has_value());
  EXPECT_EQ(limiter.acquire("b", t0), std::nullopt);
  EXPECT_EQ(limiter.in_window("b", t0), 1u);
  EXPECT_EQ(limiter.in_window("never used", t0), 0u);
}

TEST(WindowLimiterTest, AWaitBelowAMillisecondIsRoundedUpNeverZero) {
  WindowLimiter limiter(1, 60s);
  const Clock::time_point t0{};
  EXPECT_EQ(limiter.acquire("k", t0), std::nullopt);
  const auto wait = limiter.acquire("k", t0 + 60s - 1us);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 1ms);
}

TEST(WindowLimiterTest, ManyIdleKeysAreForgotten) {
  WindowLimiter limiter(1, 1s);
  const Clock::time_point t0{};
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(limiter.acquire("key-" + std::to_string(i), t0 + i * 10ms), std::nullopt);
  }
  // Long after: the old keys are swept, and each is usable again.
  EXPECT_EQ(limiter.acquire("key-0", t0 + 1h), std::nullopt);
  EXPECT_EQ(limiter.in_window("key-999", t0 + 1h), 0u);
}

}  // namespace
}  // namespace botgate::net
