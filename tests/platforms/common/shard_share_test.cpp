#include "botgate/platforms/common/shard_share.hpp"

#include "support/memory_store.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace botgate::platforms {
namespace {

using namespace std::chrono_literals;
using test::run_sync;

/// A quick ttl: a share refreshes its count at most every ttl / 5.
constexpr auto kTtl = 200ms;
const std::vector<int> kFour{0, 1, 2, 3};

void refresh_now(ShardShare& share) {
  std::this_thread::sleep_for(kTtl / 5 + 10ms);
  run_sync(share.refresh());
}

TEST(ShardShare, AnInstanceAloneTakesEveryShardAndHandsTheHighestOverAsOthersJoin) {
  test::MemoryStore store;
  ShardShare a(store, "discord:bot", kFour, 4, "a", kTtl);
  run_sync(a.refresh());
  EXPECT_EQ(a.fair_share(), 4u);
  for (int shard : kFour) {
    EXPECT_TRUE(a.may_take());
    a.took(shard);
  }
  EXPECT_FALSE(a.may_take());
  EXPECT_FALSE(a.surplus());

  ShardShare b(store, "discord:bot", kFour, 4, "b", kTtl);
  run_sync(b.refresh());
  EXPECT_EQ(b.fair_share(), 2u) << "two take part now";
  EXPECT_TRUE(b.may_take());
  EXPECT_EQ(a.fair_share(), 4u) << "a has not heard yet";

  refresh_now(a);
  EXPECT_EQ(a.fair_share(), 2u);
  EXPECT_EQ(a.surplus(), 3) << "the highest shard held goes first";
  a.gave_up(3);
  EXPECT_EQ(a.surplus(), 2);
  a.gave_up(2);
  EXPECT_FALSE(a.surplus()) << "a holds its share";
  EXPECT_FALSE(a.may_take());

  ShardShare c(store, "discord:bot", kFour, 4, "c", kTtl);
  run_sync(c.refresh());
  EXPECT_EQ(c.fair_share(), 2u) << "ceil(4 / 3)";
  refresh_now(a);
  EXPECT_FALSE(a.surplus());

  // b leaves (a clean stop), c expires (a crash): a may hold them all again.
  run_sync(b.leave());
  std::this_thread::sleep_for(kTtl);
  refresh_now(a);
  EXPECT_EQ(a.fair_share(), 4u);
  EXPECT_TRUE(a.may_take());
}

TEST(ShardShare, OnlyInstancesRunningTheSameShardsShareThem) {
  test::MemoryStore store;
  ShardShare all(store, "discord:bot", kFour, 4, "a", kTtl);
  ShardShare low(store, "discord:bot", {0, 1}, 4, "b", kTtl);
  ShardShare high(store, "discord:bot", {2, 3}, 4, "c", kTtl);
  ShardShare other_bot(store, "discord:other", kFour, 4, "d", kTtl);
  ShardShare other_count(store, "discord:bot", kFour, 8, "e", kTtl);
  for (ShardShare* share : {&all, &low, &high, &other_bot, &other_count}) {
    run_sync(share->refresh());
  }
  EXPECT_NE(low.group(), high.group());
  EXPECT_EQ(low.fair_share(), 2u) << "nobody else runs shards 0 and 1: all of them, or none runs";
  EXPECT_EQ(high.fair_share(), 2u);
  refresh_now(all);
  EXPECT_EQ(all.fair_share(), 4u);
  EXPECT_EQ(other_bot.fair_share(), 4u);
  EXPECT_EQ(other_count.fair_share(), 4u);
}

}  // namespace
}  // namespace botgate::platforms
