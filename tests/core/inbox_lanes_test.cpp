#include "botgate/core/inbox_lanes.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace botgate {
namespace {

InboxItem item(std::int64_t id, const std::string& chat) {
  Event event;
  event.id = "e" + std::to_string(id);
  event.chat.id = chat;
  event.chat.type = ChatType::group;
  return InboxItem{id, std::move(event)};
}

std::vector<InboxItem> items(std::initializer_list<std::pair<std::int64_t, const char*>> list) {
  std::vector<InboxItem> out;
  for (const auto& [id, chat] : list) out.push_back(item(id, chat));
  return out;
}

/// Runs `lane` dry; the ids it gave, in order.
std::vector<std::int64_t> drain(InboxLanes& lanes, const std::string& lane) {
  std::vector<std::int64_t> ids;
  while (auto next = lanes.next(lane)) ids.push_back(next->id);
  return ids;
}

TEST(InboxLanesTest, EachChatsEventsComeInOrderInItsOwnLane) {
  InboxLanes lanes(4, 100);
  lanes.add(items({{1, "a"}, {2, "b"}, {3, "a"}, {4, "a"}, {5, "b"}}));
  EXPECT_EQ(lanes.held(), 5u);
  const auto first = lanes.start_lane();
  const auto second = lanes.start_lane();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(lanes.start_lane()) << "two chats, two lanes";
  EXPECT_EQ(drain(lanes, *first), (std::vector<std::int64_t>{1, 3, 4})) << "the oldest first";
  EXPECT_EQ(drain(lanes, *second), (std::vector<std::int64_t>{2, 5}));
  EXPECT_EQ(lanes.running(), 0u);
  EXPECT_EQ(lanes.held(), 5u) << "held until completed";
  lanes.completed(5);
  EXPECT_EQ(lanes.held(), 0u);
}

TEST(InboxLanesTest, NoMoreLanesRunThanTheConcurrency) {
  InboxLanes lanes(2, 100);
  lanes.add(items({{1, "a"}, {2, "b"}, {3, "c"}}));
  const auto a = lanes.start_lane();
  const auto b = lanes.start_lane();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(lanes.start_lane());
  EXPECT_TRUE(lanes.has_waiting());
  EXPECT_EQ(drain(lanes, *a), std::vector<std::int64_t>{1});
  const auto c = lanes.start_lane();
  ASSERT_TRUE(c);
  EXPECT_EQ(drain(lanes, *c), std::vector<std::int64_t>{3}) << "chat c after a ran dry";
}

TEST(InboxLanesTest, ALaneThatRunsGetsLaterEventsOfItsChatWithoutWaitingAgain) {
  InboxLanes lanes(1, 100);
  lanes.add(items({{1, "a"}, {2, "b"}}));
  const auto a = lanes.start_lane();
  ASSERT_TRUE(a);
  ASSERT_EQ(lanes.next(*a)->id, 1);
  lanes.add(items({{3, "a"}}));  // while event 1 is handled
  EXPECT_EQ(lanes.next(*a)->id, 3) << "the running lane goes on with its chat";
  EXPECT_FALSE(lanes.next(*a));
  const auto b = lanes.start_lane();
  ASSERT_TRUE(b);
  EXPECT_EQ(drain(lanes, *b), std::vector<std::int64_t>{2});
}

TEST(InboxLanesTest, AChatWhoseLaneRanDryWaitsBehindTheOlderOnes) {
  InboxLanes lanes(1, 100);
  lanes.add(items({{1, "a"}}));
  const auto a = lanes.start_lane();
  EXPECT_EQ(drain(lanes, *a), std::vector<std::int64_t>{1});
  lanes.add(items({{2, "b"}, {3, "a"}}));
  EXPECT_EQ(drain(lanes, *lanes.start_lane()), std::vector<std::int64_t>{2});
  EXPECT_EQ(drain(lanes, *lanes.start_lane()), std::vector<std::int64_t>{3});
}

TEST(InboxLanesTest, RoomIsTheCapacityLessWhatIsHeld) {
  InboxLanes lanes(4, 3);
  EXPECT_EQ(lanes.room(), 3u);
  lanes.add(items({{1, "a"}, {2, "b"}}));
  EXPECT_EQ(lanes.room(), 1u);
  lanes.add(items({{3, "c"}, {4, "d"}}));  // a take may overshoot by what it got
  EXPECT_EQ(lanes.room(), 0u);
  lanes.completed(2);
  EXPECT_EQ(lanes.room(), 1u);
}

TEST(InboxLanesTest, AnAbandonedLaneDropsItsEventsAndStopsRunning) {
  InboxLanes lanes(1, 10);
  lanes.add(items({{1, "a"}, {2, "a"}, {3, "b"}}));
  const auto a = lanes.start_lane();
  ASSERT_EQ(lanes.next(*a)->id, 1);
  lanes.abandon(*a);
  EXPECT_EQ(lanes.running(), 0u);
  EXPECT_EQ(lanes.held(), 2u) << "event 1 is in hand (its completion may still come); 2 dropped";
  EXPECT_FALSE(lanes.next(*a));
  EXPECT_EQ(drain(lanes, *lanes.start_lane()), std::vector<std::int64_t>{3});
}

TEST(InboxLanesTest, ChatsAreToldApartByTypeAndId) {
  InboxLanes lanes(4, 10);
  std::vector<InboxItem> both = items({{1, "same"}, {2, "same"}});
  both[1].event.chat.type = ChatType::private_chat;
  lanes.add(std::move(both));
  EXPECT_TRUE(lanes.start_lane() && lanes.start_lane()) << "a group and a private chat";
}

}  // namespace
}  // namespace botgate
