#include "botgate/core/wake_rounds.hpp"

#include "support/run_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(WakeRoundsTest, WakeUpsAddedTogetherAreGivenInOneRound) {
  asio::io_context io;
  WakeRounds rounds(io.get_executor());
  std::vector<int> woken;
  for (int i = 0; i < 3; ++i) rounds.add([&woken, i] { woken.push_back(i); });
  EXPECT_TRUE(woken.empty());  // never inline: on the executor
  ASSERT_TRUE(test::run_until(io, [&] { return woken.size() == 3; }));
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(rounds.rounds(), 1u);
}

TEST(WakeRoundsTest, ARoundComesAtLeastTheLeastGapAfterTheOneBefore) {
  asio::io_context io;
  WakeRounds rounds(io.get_executor(), WakeRoundsOptions{300ms, 0.5, 1000ms});
  int woken = 0;
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 1; }));
  const auto first = Clock::now();
  rounds.add([&] { ++woken; });
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 3; }));
  EXPECT_GE(Clock::now() - first, 290ms);
  EXPECT_EQ(rounds.rounds(), 2u);
}

TEST(WakeRoundsTest, WhatTheWokenSpentKeepsTheNextRoundAwayForTheRestOfTheirShare) {
  asio::io_context io;
  // A quarter of the time for the clients: 100 ms of their work buys 300 ms for the rest.
  WakeRounds rounds(io.get_executor(), WakeRoundsOptions{1ms, 0.25, 5000ms});
  int woken = 0;
  rounds.add([&] {
    ++woken;
    rounds.spent(100ms);
  });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 1; }));
  // The report is counted when the next round is planned: the round after this one waits.
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 2; }));
  const auto second = Clock::now();
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 3; }));
  EXPECT_GE(Clock::now() - second, 280ms);
}

TEST(WakeRoundsTest, TheGapNeverExceedsTheMost) {
  asio::io_context io;
  WakeRounds rounds(io.get_executor(), WakeRoundsOptions{1ms, 0.01, 200ms});
  int woken = 0;
  rounds.spent(10s);  // would be 990 s at a 1 % share
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 1; }));
  const auto first = Clock::now();
  rounds.add([&] { ++woken; });
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 2; }, 5000ms));
  EXPECT_LT(Clock::now() - first, 2s);
}

TEST(WakeRoundsTest, WakeUpsFromAnotherThreadAreGiven) {
  asio::io_context io;
  WakeRounds rounds(io.get_executor(), WakeRoundsOptions{1ms, 0.5, 100ms});
  std::atomic<int> woken{0};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) rounds.add([&] { ++woken; });
  });
  producer.join();
  ASSERT_TRUE(test::run_until(io, [&] { return woken == 1000; }));
}

TEST(WakeRoundsTest, ARoundPendingWhenTheRoundsGoIsNeverRun) {
  asio::io_context io;
  bool woken = false;
  {
    WakeRounds rounds(io.get_executor());
    rounds.add([&] { woken = true; });
  }
  io.run();  // the posted schedule finds the rounds gone
  EXPECT_FALSE(woken);
}

}  // namespace
}  // namespace botgate
