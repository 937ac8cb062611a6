#include "botgate/core/event_feed.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

namespace botgate {
namespace {

LoggedEvent logged(std::int64_t cursor, const std::string& bot = "a",
                   const std::string& chat = "c1", const std::string& platform = "feishu") {
  return LoggedEvent{cursor, bot, platform, chat, "{\"n\":" + std::to_string(cursor) + "}"};
}

std::vector<std::int64_t> cursors(const EventFeed::Batch& batch) {
  std::vector<std::int64_t> out;
  for (const auto& entry : batch.events) out.push_back(entry->cursor);
  return out;
}

TEST(EventFeed, GivesWhatCameAfterAPositionInOrderUpToALimit) {
  EventFeed feed(16);
  for (std::int64_t c : {1, 2, 5, 9}) feed.publish(logged(c));  // cursors may skip numbers
  EXPECT_EQ(feed.head(), 9);
  auto batch = feed.read(0, {}, 10);
  EXPECT_FALSE(batch.behind);
  EXPECT_EQ(cursors(batch), (std::vector<std::int64_t>{1, 2, 5, 9}));
  EXPECT_EQ(batch.next_after, 9);
  batch = feed.read(2, {}, 1);
  EXPECT_EQ(cursors(batch), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(batch.next_after, 5);
  batch = feed.read(9, {}, 10);
  EXPECT_TRUE(batch.events.empty());
  EXPECT_EQ(batch.next_after, 9);
  EXPECT_EQ(feed.read(3, {}, 10).events.front()->json, "{\"n\":5}");
}

TEST(EventFeed, AFilterPassesOverWhatItDoesNotMatchAndMovesThePositionPastIt) {
  EventFeed feed(16);
  feed.publish(logged(1, "a", "c1"));
  feed.publish(logged(2, "b", "c1"));
  feed.publish(logged(3, "a", "c2"));
  feed.publish(logged(4, "b", "c2", "qq"));
  EXPECT_EQ(cursors(feed.read(0, EventFilter{"b", "", ""}, 10)),
            (std::vector<std::int64_t>{2, 4}));
  EXPECT_EQ(cursors(feed.read(0, EventFilter{"", "", "c2"}, 10)),
            (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(cursors(feed.read(0, EventFilter{"b", "qq", "c2"}, 10)),
            (std::vector<std::int64_t>{4}));
  const auto none = feed.read(0, EventFilter{"z", "", ""}, 10);
  EXPECT_TRUE(none.events.empty());
  EXPECT_EQ(none.next_after, 4) << "nothing to look at again";
}

TEST(EventFeed, APositionThatLeftTheWindowIsBehindUntilItReachesTheFloor) {
  EventFeed feed(3);
  for (std::int64_t c = 1; c <= 5; ++c) feed.publish(logged(c));
  // 1 and 2 were pushed out: a reader at 0 or 1 must read the store.
  for (std::int64_t at : {0, 1}) {
    const auto batch = feed.read(at, {}, 10);
    EXPECT_TRUE(batch.behind) << at;
    EXPECT_TRUE(batch.events.empty());
    EXPECT_EQ(batch.window_floor, 2);
  }
  const auto caught_up = feed.read(2, {}, 10);
  EXPECT_FALSE(caught_up.behind);
  EXPECT_EQ(cursors(caught_up), (std::vector<std::int64_t>{3, 4, 5}));
}

TEST(EventFeed, EventsBeforeItsStartAreTheStoresAndOnesAlreadyToldAreNotNew) {
  EventFeed feed(8, 100);
  EXPECT_EQ(feed.head(), 100);
  EXPECT_TRUE(feed.read(50, {}, 10).behind);
  EXPECT_FALSE(feed.read(100, {}, 10).behind);
  feed.publish(logged(100));  // told before the start: not published again
  feed.publish(logged(101));
  EXPECT_EQ(cursors(feed.read(100, {}, 10)), (std::vector<std::int64_t>{101}));
  EXPECT_EQ(feed.published(), 1u);

  EventFeed later(8);
  later.publish(logged(7));  // the store told it between watch_events and start_at
  later.start_at(6);
  EXPECT_EQ(later.head(), 7);
  EXPECT_TRUE(later.read(5, {}, 10).behind);
  EXPECT_EQ(cursors(later.read(6, {}, 10)), (std::vector<std::int64_t>{7}));
}

TEST(EventFeed, AWaiterIsWokenOnceByAMatchingEventAndKeepsWhatMatchesUntilItEnds) {
  EventFeed feed(8);
  feed.publish(logged(1));
  EventFilter only_b{"b", "", ""};
  int woken = 0;
  std::int64_t woken_by = 0;
  const auto id = feed.wait(1, only_b, [&](std::int64_t cursor) {
    ++woken;
    woken_by = cursor;
  });
  ASSERT_NE(id, 0u);
  EXPECT_EQ(feed.waiting(), 1u);
  feed.publish(logged(2, "a"));
  EXPECT_EQ(woken, 0) << "not its bot";
  feed.publish(logged(3, "b"));
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(woken_by, 3) << "the matching event's cursor: 2 before it did not match";
  feed.publish(logged(4, "b"));
  feed.publish(logged(5, "a"));
  EXPECT_EQ(woken, 1) << "once";
  EXPECT_EQ(feed.waiting(), 1u) << "woken, it stays until its reader ends it";
  const EventFeed::WaitEnd end = feed.end_wait(id);
  std::vector<std::int64_t> kept;
  for (const auto& entry : end.events) kept.push_back(entry->cursor);
  EXPECT_EQ(kept, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(end.through, 5) << "everything up to the head that matched is kept";
  EXPECT_FALSE(end.more);
  EXPECT_EQ(feed.waiting(), 0u);
  EXPECT_EQ(feed.end_wait(id).through, 0) << "ended already: harmless, and says nothing";
}

TEST(EventFeed, AWokenWaitKeepsWhatMatchedAfterTheWindowMovedOnAndSaysWhenItKeptNoMore) {
  EventFeed feed(4);
  EventFilter any;
  const auto id = feed.wait(0, any, [](std::int64_t) {});
  ASSERT_NE(id, 0u);
  const auto published = static_cast<std::int64_t>(EventFeed::kWaitKeeps) + 10;
  for (std::int64_t c = 1; c <= published; ++c) feed.publish(logged(c));
  EXPECT_TRUE(feed.read(0, any, 10).behind) << "the window kept only the last 4";
  const EventFeed::WaitEnd end = feed.end_wait(id);
  ASSERT_EQ(end.events.size(), EventFeed::kWaitKeeps);
  EXPECT_EQ(end.events.front()->cursor, 1);
  EXPECT_TRUE(end.more);
  EXPECT_EQ(end.through, static_cast<std::int64_t>(EventFeed::kWaitKeeps))
      << "the reader reads on after the last it was given";
}

TEST(EventFeed, AnEndedWaitThatWasNotWokenSaysHowFarNothingMatchedSoAQuietClientKeepsUp) {
  EventFeed feed(4);
  EventFilter only_b{"b", "", ""};
  const auto id = feed.wait(0, only_b, [](std::int64_t) { FAIL() << "nothing of b came"; });
  ASSERT_NE(id, 0u);
  for (std::int64_t c = 1; c <= 10; ++c) feed.publish(logged(c, "a"));
  const EventFeed::WaitEnd end = feed.end_wait(id);
  EXPECT_TRUE(end.events.empty());
  EXPECT_EQ(end.through, 10);
  EXPECT_TRUE(feed.read(0, only_b, 10).behind) << "from where it waited, it would be behind";
  EXPECT_FALSE(feed.read(end.through, only_b, 10).behind) << "from there it is not";
}

TEST(EventFeed, AWaitForWhatIsAlreadyThereOrBehindReturnsAtOnce) {
  EventFeed feed(2);
  feed.publish(logged(1, "b"));
  EventFilter any;
  EventFilter only_b{"b", "", ""};
  int woken = 0;
  EXPECT_EQ(feed.wait(0, only_b, [&](std::int64_t) { ++woken; }), 0u) << "cursor 1 matches";
  for (std::int64_t c = 2; c <= 4; ++c) feed.publish(logged(c, "a"));
  EXPECT_EQ(feed.wait(0, any, [&](std::int64_t) { ++woken; }), 0u) << "behind the window";
  EXPECT_EQ(woken, 0);
  EXPECT_EQ(feed.waiting(), 0u);
}

TEST(EventFeed, AnEndedWaitIsNotWoken) {
  EventFeed feed(8);
  EventFilter any;
  int woken = 0;
  const auto id = feed.wait(0, any, [&](std::int64_t) { ++woken; });
  ASSERT_NE(id, 0u);
  feed.end_wait(id);
  feed.publish(logged(1));
  EXPECT_EQ(woken, 0);
}

TEST(EventFeed, AnEventWakesOnlyItsChatsWaitersAndThoseOfNoChat) {
  EventFeed feed(8);
  std::vector<EventFilter> filters;
  filters.reserve(1002);
  for (int i = 0; i < 1000; ++i) filters.push_back(EventFilter{"", "", "chat" + std::to_string(i)});
  filters.push_back(EventFilter{});                  // every event
  filters.push_back(EventFilter{"b", "", "chat7"});  // chat7, but of bot b only
  std::vector<int> woken(filters.size(), 0);
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    ids.push_back(feed.wait(0, filters[i], [&woken, i](std::int64_t) { ++woken[i]; }));
    ASSERT_NE(ids.back(), 0u);
  }
  LoggedEvent event = logged(1, "a");
  event.chat = "chat7";
  feed.publish(event);
  EXPECT_EQ(woken[7], 1);
  EXPECT_EQ(woken[1000], 1) << "the waiter of no chat";
  EXPECT_EQ(woken[1001], 0) << "chat7, but another bot";
  EXPECT_EQ(std::count(woken.begin(), woken.end(), 1), 2);
  EXPECT_EQ(feed.end_wait(ids[7]).events.size(), 1u);
  EXPECT_EQ(feed.end_wait(ids[1000]).events.size(), 1u);
  EXPECT_EQ(feed.waiting(), 1000u);
  // Ended waits leave the index too: a later event of their chat wakes nobody.
  EXPECT_EQ(feed.end_wait(ids[8]).through, 1);
  EXPECT_EQ(feed.end_wait(ids[1001]).through, 1);
  LoggedEvent of_8 = logged(2, "b");
  of_8.chat = "chat8";
  feed.publish(of_8);
  EXPECT_EQ(woken[8], 0);
  EXPECT_EQ(feed.waiting(), 998u);
}

TEST(EventFeed, AChatsWaitersComeAndGoInAnyOrderAndEachIsWokenOnce) {
  // A wait that ends leaves its chat's list by swapping the last waiter into its place:
  // waiting again, ending the first or a middle one, and waking the rest must still reach
  // exactly the waiters that are there.
  EventFeed feed(8);
  const EventFilter chat1{"", "", "c1"};
  std::vector<int> woken(4, 0);
  auto waiter = [&woken](int i) { return [&woken, i](std::int64_t) { ++woken[i]; }; };
  const auto first = feed.wait(0, chat1, waiter(0));
  ASSERT_NE(first, 0u);
  feed.publish(logged(1, "a", "c1"));
  EXPECT_EQ(woken[0], 1);
  EXPECT_EQ(feed.end_wait(first).events.size(), 1u);
  EXPECT_EQ(feed.waiting(), 0u);
  std::vector<std::uint64_t> ids;
  for (int i = 1; i < 4; ++i) ids.push_back(feed.wait(1, chat1, waiter(i)));
  for (const auto id : ids) ASSERT_NE(id, 0u);
  EXPECT_EQ(feed.end_wait(ids[0]).through, 1) << "not woken: nothing after 1 matched up to the head";
  feed.publish(logged(2, "a", "c2"));
  EXPECT_EQ(std::count(woken.begin(), woken.end(), 0), 3) << "another chat's event";
  EXPECT_EQ(cursors(feed.read(1, chat1, 10)), std::vector<std::int64_t>{})
      << "the scan passes over c2's event";
  feed.publish(logged(3, "a", "c1"));
  EXPECT_EQ(woken, (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(feed.end_wait(ids[2]).events.size(), 1u);
  EXPECT_EQ(feed.end_wait(ids[1]).events.size(), 1u);
  EXPECT_EQ(feed.waiting(), 0u);
  EXPECT_EQ(cursors(feed.read(1, chat1, 10)), (std::vector<std::int64_t>{3}));
}

TEST(EventFeed, ManyWaitersShareOneCopyOfEachEvent) {
  EventFeed feed(8);
  EventFilter any;
  int woken = 0;
  for (int i = 0; i < 1000; ++i) ASSERT_NE(feed.wait(0, any, [&](std::int64_t) { ++woken; }), 0u);
  feed.publish(logged(1));
  EXPECT_EQ(woken, 1000);
  const auto first = feed.read(0, any, 1).events.front();
  const auto second = feed.read(0, any, 1).events.front();
  EXPECT_EQ(first.get(), second.get()) << "readers share the entry, no copy per client";
}

}  // namespace
}  // namespace botgate
