#include "botgate/store/inbox_mirror.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace botgate::store {
namespace {

Event event_of(const std::string& bot, const std::string& text) {
  Event event;
  event.bot = bot;
  event.platform_event_id = text;
  Message message;
  message.text = text;
  event.message = message;
  return event;
}

const SystemTime kAt = SystemTime(std::chrono::milliseconds(1'795'867'200'123));

std::vector<std::string> texts(const std::vector<InboxItem>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.event.message->text);
  return out;
}

TEST(InboxMirrorTest, UnknownUntilATableReadFoundTheWholeInbox) {
  InboxMirror mirror(8);
  mirror.added(1, event_of("a", "one"), kAt);
  EXPECT_FALSE(mirror.pending("a", 64)) << "no read yet: the table is the source";
  mirror.read_from_table("a", {InboxItem{1, event_of("a", "one")}}, 1);
  EXPECT_FALSE(mirror.pending("a", 64)) << "as many rows as asked: there may be more";
  mirror.read_from_table("a", {InboxItem{1, event_of("a", "one")}}, 64);
  ASSERT_TRUE(mirror.pending("a", 64));
  EXPECT_EQ(texts(*mirror.pending("a", 64)), std::vector<std::string>{"one"});
}

TEST(InboxMirrorTest, FollowsAddsAndRemovesInOrder) {
  InboxMirror mirror(8);
  mirror.read_from_table("a", {}, 64);
  mirror.added(3, event_of("a", "three"), kAt);
  mirror.added(4, event_of("a", "four"), kAt);
  mirror.added(7, event_of("a", "seven"), kAt);
  EXPECT_EQ(texts(*mirror.pending("a", 2)), (std::vector<std::string>{"three", "four"}));
  mirror.removed(4);  // out of order
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"three", "seven"}));
  mirror.removed(3);
  mirror.removed(99);  // not there: nothing happens
  const auto left = *mirror.pending("a", 64);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, 7);
}

TEST(InboxMirrorTest, ItemsRemovedInAnyOrderLeaveTheRestInOrderAndFreeTheirPlaces) {
  InboxMirror mirror(4);
  mirror.read_from_table("a", {}, 64);
  for (int id = 1; id <= 4; ++id) mirror.added(id, event_of("a", std::to_string(id)), kAt);
  mirror.removed(2);  // chats finish in any order
  mirror.removed(3);
  mirror.retried(3);  // gone: nothing happens
  mirror.removed(3);
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"1", "4"}));
  mirror.removed(1);
  // The places of 1, 2 and 3 are free again: three more fit under the limit of 4.
  for (int id = 5; id <= 7; ++id) mirror.added(id, event_of("a", std::to_string(id)), kAt);
  ASSERT_TRUE(mirror.pending("a", 64)) << "the copy stayed whole";
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"4", "5", "6", "7"}));
  EXPECT_EQ(texts(*mirror.pending("a", 2, {4, 6})), (std::vector<std::string>{"5", "7"}));
}

TEST(InboxMirrorTest, AnIdTheTableGivesAgainAfterItsRowWasDeletedIsANewItem) {
  InboxMirror mirror(8);
  mirror.read_from_table("a", {}, 64);
  for (int id = 1; id <= 3; ++id) mirror.added(id, event_of("a", std::to_string(id)), kAt);
  mirror.removed(3);  // the highest row: SQLite gives its id to the next insert
  mirror.added(3, event_of("a", "3 again"), kAt);
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"1", "2", "3 again"}));
  mirror.removed(3);
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"1", "2"}))
      << "the new item left too";
  mirror.removed(2);
  mirror.added(2, event_of("a", "2 again"), kAt);
  mirror.retried(2);
  const auto items = *mirror.pending("a", 64);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].event.message->text, "2 again");
  EXPECT_EQ(items[1].attempts, 1);
}

TEST(InboxMirrorTest, ABacklogOverTheLimitGoesBackToTheTable) {
  InboxMirror mirror(2);
  mirror.read_from_table("a", {}, 64);
  mirror.added(1, event_of("a", "1"), kAt);
  mirror.added(2, event_of("a", "2"), kAt);
  mirror.added(3, event_of("a", "3"), kAt);
  EXPECT_FALSE(mirror.pending("a", 64));
  mirror.added(4, event_of("a", "4"), kAt);
  EXPECT_FALSE(mirror.pending("a", 64)) << "stays off until a read finds the inbox whole";
  mirror.read_from_table("a", {InboxItem{4, event_of("a", "4")}}, 64);
  EXPECT_EQ(texts(*mirror.pending("a", 64)), std::vector<std::string>{"4"});
}

TEST(InboxMirrorTest, BotsHaveCopiesOfTheirOwn) {
  InboxMirror mirror(8);
  mirror.read_from_table("a", {}, 64);
  mirror.added(1, event_of("a", "for a"), kAt);
  mirror.added(2, event_of("b", "for b"), kAt);  // b's inbox was never read: not copied
  EXPECT_EQ(texts(*mirror.pending("a", 64)), std::vector<std::string>{"for a"});
  EXPECT_FALSE(mirror.pending("b", 64));
}

TEST(InboxMirrorTest, KeepsWhenEachEventWasAcceptedAndItsAttempts) {
  InboxMirror mirror(8);
  mirror.read_from_table("a", {InboxItem{2, event_of("a", "two"), 3, kAt}}, 64);
  mirror.added(5, event_of("a", "five"), kAt + std::chrono::seconds(1));
  mirror.retried(5);
  mirror.retried(5);
  mirror.retried(2);
  mirror.retried(99);  // not there: nothing happens
  const auto items = *mirror.pending("a", 64);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].attempts, 4) << "as read, plus one";
  EXPECT_EQ(items[0].accepted_at, kAt);
  EXPECT_EQ(items[1].attempts, 2) << "a new event starts at none";
  EXPECT_EQ(items[1].accepted_at, kAt + std::chrono::seconds(1));
}

}  // namespace
}  // namespace botgate::store
