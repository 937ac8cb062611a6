#include "botgate/store/inbox_mirror.hpp"

#include <gtest/gtest.h>

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

std::vector<std::string> texts(const std::vector<InboxItem>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.event.message->text);
  return out;
}

TEST(InboxMirrorTest, UnknownUntilATableReadFoundTheWholeInbox) {
  InboxMirror mirror(8);
  mirror.added(1, event_of("a", "one"));
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
  mirror.added(3, event_of("a", "three"));
  mirror.added(4, event_of("a", "four"));
  mirror.added(7, event_of("a", "seven"));
  EXPECT_EQ(texts(*mirror.pending("a", 2)), (std::vector<std::string>{"three", "four"}));
  mirror.removed(4);  // out of order
  EXPECT_EQ(texts(*mirror.pending("a", 64)), (std::vector<std::string>{"three", "seven"}));
  mirror.removed(3);
  mirror.removed(99);  // not there: nothing happens
  const auto left = *mirror.pending("a", 64);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, 7);
}

TEST(InboxMirrorTest, ABacklogOverTheLimitGoesBackToTheTable) {
  InboxMirror mirror(2);
  mirror.read_from_table("a", {}, 64);
  mirror.added(1, event_of("a", "1"));
  mirror.added(2, event_of("a", "2"));
  mirror.added(3, event_of("a", "3"));
  EXPECT_FALSE(mirror.pending("a", 64));
  mirror.added(4, event_of("a", "4"));
  EXPECT_FALSE(mirror.pending("a", 64)) << "stays off until a read finds the inbox whole";
  mirror.read_from_table("a", {InboxItem{4, event_of("a", "4")}}, 64);
  EXPECT_EQ(texts(*mirror.pending("a", 64)), std::vector<std::string>{"4"});
}

TEST(InboxMirrorTest, BotsHaveCopiesOfTheirOwn) {
  InboxMirror mirror(8);
  mirror.read_from_table("a", {}, 64);
  mirror.added(1, event_of("a", "for a"));
  mirror.added(2, event_of("b", "for b"));  // b's inbox was never read: not copied
  EXPECT_EQ(texts(*mirror.pending("a", 64)), std::vector<std::string>{"for a"});
  EXPECT_FALSE(mirror.pending("b", 64));
}

}  // namespace
}  // namespace botgate::store
