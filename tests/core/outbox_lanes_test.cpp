#include "botgate/core/outbox_lanes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace botgate {
namespace {

OutboxItem message(std::int64_t id, const std::string& chat) {
  OutgoingMessage m = OutgoingMessage::plain("m" + std::to_string(id));
  m.chat_id = chat;
  m.chat_type = ChatType::group;
  return OutboxItem{id, std::move(m), 0};
}

OutboxLanes lanes(std::size_t depth, std::size_t cap) {
  OutboxLanes box;
  box.lane_depth = depth;
  box.held_cap = cap;
  return box;
}

std::vector<std::int64_t> ids_in(const OutboxLanes& box, const std::string& chat) {
  std::vector<std::int64_t> ids;
  auto it = box.lanes.find(chat_lane(ChatType::group, chat));
  if (it == box.lanes.end()) return ids;
  for (const OutboxItem& item : it->second.items) ids.push_back(item.id);
  return ids;
}

TEST(OutboxLanesTest, MessagesGoToTheirChatsLaneInOrder) {
  OutboxLanes box = lanes(10, 100);
  for (auto [id, chat] : {std::pair{1, "a"}, {2, "b"}, {3, "a"}}) {
    OutboxItem item = message(id, chat);
    place_in_lane(box, item);
  }
  EXPECT_EQ(ids_in(box, "a"), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(ids_in(box, "b"), std::vector<std::int64_t>{2});
  EXPECT_EQ(box.held.size(), 3u);
}

TEST(OutboxLanesTest, AFullLaneTakesNoMoreAndIsMarkedTruncatedUntilItReadsOnByItself) {
  OutboxLanes box = lanes(2, 100);
  for (int id = 1; id <= 4; ++id) {
    OutboxItem item = message(id, "a");
    place_in_lane(box, item);
  }
  EXPECT_EQ(ids_in(box, "a"), (std::vector<std::int64_t>{1, 2}));
  const Lane& lane = box.lanes.at(chat_lane(ChatType::group, "a"));
  EXPECT_TRUE(lane.truncated);
  EXPECT_EQ(lane.last_id, 2);
  EXPECT_FALSE(box.held.contains(3)) << "passed over: it stays in the store";
}

TEST(OutboxLanesTest, HandedOverRepliesArePlacedWhenNothingOlderWaitsUnread) {
  OutboxLanes box = lanes(10, 100);
  std::atomic<bool> unread{false};
  box.arrived.push_back(message(7, "a"));
  box.arrived.push_back(message(8, "b"));
  take_arrived(box, unread, /*read_failed=*/false);
  EXPECT_EQ(ids_in(box, "a"), std::vector<std::int64_t>{7});
  EXPECT_EQ(ids_in(box, "b"), std::vector<std::int64_t>{8});
  EXPECT_TRUE(box.arrived.empty());
  EXPECT_FALSE(unread);
}

TEST(OutboxLanesTest, HandedOverRepliesAreLeftToTheReadsWhenOlderOnesMayWait) {
  for (int why = 0; why < 3; ++why) {
    OutboxLanes box = lanes(10, 100);
    std::atomic<bool> unread{why == 0};
    box.more = why == 1;
    box.arrived.push_back(message(7, "a"));
    take_arrived(box, unread, /*read_failed=*/why == 2);
    EXPECT_TRUE(box.lanes.empty()) << why;
    EXPECT_TRUE(box.arrived.empty()) << why;
    EXPECT_TRUE(unread) << why << ": the next turn reads the store";
  }
}

TEST(OutboxLanesTest, HandedOverRepliesPastTheCapWaitForTheReads) {
  OutboxLanes box = lanes(10, 1);
  std::atomic<bool> unread{false};
  box.arrived.push_back(message(7, "a"));
  box.arrived.push_back(message(8, "b"));
  take_arrived(box, unread, false);
  EXPECT_EQ(ids_in(box, "a"), std::vector<std::int64_t>{7});
  EXPECT_TRUE(ids_in(box, "b").empty());
  EXPECT_TRUE(box.more);
}

TEST(OutboxLanesTest, AReplyAReadMetFirstIsNotPlacedTwice) {
  OutboxLanes box = lanes(10, 100);
  OutboxItem read = message(7, "a");
  place_in_lane(box, read);
  std::atomic<bool> unread{false};
  box.arrived.push_back(message(7, "a"));
  take_arrived(box, unread, false);
  EXPECT_EQ(ids_in(box, "a"), std::vector<std::int64_t>{7});
}

}  // namespace
}  // namespace botgate
