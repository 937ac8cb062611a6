#include "botgate/store/outbox_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::store {
namespace {

OutboxItem item(std::int64_t id) {
  OutgoingMessage m = OutgoingMessage::plain("m" + std::to_string(id));
  m.bot = "a";
  return OutboxItem{id, std::move(m), 0};
}

std::vector<std::int64_t> ids_of(const std::vector<OutboxIndex::Taken>& taken) {
  std::vector<std::int64_t> ids;
  for (const auto& one : taken) ids.push_back(one.id);
  return ids;
}
using Ids = std::vector<std::int64_t>;

TEST(OutboxIndexTest, TakesHeadsInIdOrderAndALanesNextOneBeforeLaterLanes) {
  OutboxIndex index;
  index.queued("a", "x", 1, 0);
  index.queued("a", "x", 2, 0);
  index.queued("a", "y", 3, 0);
  index.queued("a", "x", 4, 0);
  index.queued("b", "x", 5, 0);
  EXPECT_EQ(ids_of(index.take("a", 0, 2, 10)), (Ids{1, 2})) << "2 before lane y's 3";
  EXPECT_EQ(ids_of(index.take("a", 0, 10, 10)), (Ids{3, 4}));
  EXPECT_TRUE(index.take("a", 0, 10, 10).empty());
  EXPECT_EQ(index.size(), 5u);
}

TEST(OutboxIndexTest, KeepsWholeItemsUpToItsLimitAndDropsThemWhenTakenOrRetried) {
  OutboxIndex index(2);
  index.queued("a", "x", 1, 0, item(1));
  index.queued("a", "x", 2, 0, item(2));
  index.queued("a", "x", 3, 0, item(3));
  EXPECT_EQ(index.cached(), 2u);
  index.retried(2, 0);
  EXPECT_EQ(index.cached(), 1u) << "its attempts changed: read it again";
  const auto taken = index.take("a", 0, 10, 10);
  ASSERT_EQ(taken.size(), 3u);
  ASSERT_TRUE(taken[0].item);
  EXPECT_EQ(taken[0].item->message.plain_text(), "m1");
  EXPECT_FALSE(taken[1].item);
  EXPECT_FALSE(taken[2].item);
  EXPECT_EQ(index.cached(), 0u);
  index.queued("a", "x", 4, 0, item(4));
  EXPECT_EQ(index.cached(), 1u) << "room again";
}

TEST(OutboxIndexTest, TakeKeptStopsBeforeTheFirstMessageToReadAndTakeGoesOnFromThere) {
  OutboxIndex index(3);
  index.queued("a", "x", 1, 0, item(1));
  index.queued("a", "y", 2, 0, item(2));
  index.queued("a", "x", 3, 0);  // not kept: read from the table when taken
  index.queued("a", "y", 4, 0, item(4));
  index.queued("a", "z", 5, 0, item(5));

  OutboxIndex::Kept kept = index.take_kept("a", 0, 10, 10);
  ASSERT_EQ(kept.items.size(), 2u);
  EXPECT_EQ(kept.items[0].id, 1);
  EXPECT_EQ(kept.items[1].message.plain_text(), "m2");
  EXPECT_FALSE(kept.complete) << "message 3 must be read";
  EXPECT_EQ(ids_of(index.take("a", 0, 10, 10)), (Ids{3, 4, 5}));

  index.queued("a", "x", 6, 0, item(6));
  index.queued("a", "x", 7, 0, item(7));
  kept = index.take_kept("a", 0, 1, 10);
  ASSERT_EQ(kept.items.size(), 1u);
  EXPECT_EQ(kept.items[0].id, 6);
  EXPECT_TRUE(kept.complete) << "stopped at its limit, not at a message to read";
  kept = index.take_kept("a", 0, 10, 3);
  EXPECT_TRUE(kept.items.empty()) << "lane x has 1, 3 and 6 out: at its lane limit";
  EXPECT_TRUE(kept.complete);
  EXPECT_TRUE(index.take_kept("b", 0, 10, 10).complete);
}

TEST(OutboxIndexTest, EndingAndGivingBackKeepTheTakenPrefixOfEachLane) {
  OutboxIndex index;
  for (std::int64_t id = 1; id <= 4; ++id) index.queued("a", "x", id, 10 * id);
  EXPECT_EQ(index.next_due("a"), 10);
  EXPECT_EQ(ids_of(index.take("a", 100, 10, 2)), (Ids{1, 2}));
  EXPECT_EQ(index.next_due("a"), 30) << "the lane's next, not the taken ones";
  index.ended(1);  // sent
  EXPECT_EQ(ids_of(index.take("a", 100, 10, 2)), Ids{3});
  index.give_back(3);  // its read failed
  EXPECT_EQ(index.next_due("a"), 30);
  EXPECT_EQ(ids_of(index.take("a", 100, 10, 2)), Ids{3});
  index.ended(4);  // never taken (sent by someone else)
  index.ended(2);
  index.ended(3);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.next_due("a"));
  index.queued("a", "x", 5, 50);
  EXPECT_EQ(ids_of(index.take("a", 100, 10, 2)), Ids{5}) << "the emptied lane starts again";
}

TEST(OutboxIndexTest, ANotDueHeadHoldsBackItsLaneAndARetryMovesItsTime) {
  OutboxIndex index;
  index.queued("a", "x", 1, 100);
  index.queued("a", "x", 2, 0);
  index.queued("a", "y", 3, 0);
  EXPECT_EQ(ids_of(index.take("a", 50, 10, 10)), Ids{3});
  EXPECT_EQ(index.next_due("a"), 100);
  index.retried(1, 40);
  EXPECT_EQ(index.next_due("a"), 40);
  EXPECT_EQ(ids_of(index.take("a", 50, 10, 10)), (Ids{1, 2}));
  index.retried(1, 500);  // taken: it stays taken
  EXPECT_TRUE(index.take("a", 1000, 10, 10).empty());
  EXPECT_FALSE(index.next_due("a"));
}

}  // namespace
}  // namespace botgate::store
