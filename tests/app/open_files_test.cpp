#include "botgate/app/open_files.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

namespace botgate::app {
namespace {

TEST(ConnectionCap, LeavesTheReserveOfTheUsualLimitToTheRest) {
  // 1,024 descriptors and two bots: 192 kept for the store, clients and gateways.
  EXPECT_EQ(descriptor_reserve(2), 192u);
  EXPECT_EQ(connection_cap(0, 1024, 2), 1024u - 192u);
  // What is configured wins when the descriptors allow it...
  EXPECT_EQ(connection_cap(100, 1024, 2), 100u);
  // ...and is capped when they do not.
  EXPECT_EQ(connection_cap(5000, 1024, 2), 1024u - 192u);
}

TEST(ConnectionCap, DefaultIsBoundedWhenDescriptorsArePlenty) {
  EXPECT_EQ(connection_cap(0, 1u << 20, 3), 8192u);
  EXPECT_EQ(connection_cap(20000, 1u << 20, 3), 20000u);
}

TEST(ConnectionCap, ASmallLimitKeepsHalfForTheRest) {
  // 256 descriptors, one bot: a reserve of 128 would leave 128; a tiny limit still gets some.
  EXPECT_EQ(connection_cap(0, 256, 1), 128u);
  EXPECT_EQ(connection_cap(0, 100, 1), 50u);
  EXPECT_EQ(connection_cap(0, 1, 1), 1u);
}

TEST(RaiseOpenFileLimit, SoftLimitEndsAtTheHardLimit) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  const OpenFileLimit limit = raise_open_file_limit();
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(limit.before, low.rlim_cur);
  if (saved.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(now.rlim_cur, saved.rlim_max);
    EXPECT_EQ(limit.soft, saved.rlim_max);
    EXPECT_EQ(limit.hard, saved.rlim_max);
  } else {
    EXPECT_GT(now.rlim_cur, low.rlim_cur);
  }
}

}  // namespace
}  // namespace botgate::app
