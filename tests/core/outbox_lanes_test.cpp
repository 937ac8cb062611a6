#include "botgate/core/outbox_lanes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

OutboxItem message(std::int64_t id, const std::string& chat) {
  OutgoingMessage m = OutgoingMessage::plain("m" + std::to_string(id));
  m.chat_id = chat;
  m.chat_type = ChatType::group;
  return OutboxItem{id, std::move(m), 0};
}

std::string lane_of(const std::string& chat) { return chat_lane(ChatType::group, chat); }

std::vector<OutboxItem> messages(std::vector<std::pair<std::int64_t, std::string>> list) {
  std::vector<OutboxItem> items;
  for (auto& [id, chat] : list) items.push_back(message(id, chat));
  return items;
}

TEST(OutboxLanesTest, EachChatSendsItsFirstMessageTheOldestChatsFirstUpToTheMax) {
  OutboxLanes lanes(10, 100);
  lanes.add(messages({{1, "a"}, {2, "b"}, {3, "a"}, {4, "c"}}));
  EXPECT_EQ(lanes.held(), 4u);
  EXPECT_EQ(lanes.room(), 96u);
  const auto now = Steady::now();
  EXPECT_EQ(lanes.start(now, 2), (std::vector<std::string>{lane_of("a"), lane_of("b")}));
  EXPECT_EQ(lanes.front(lane_of("a")).id, 1);
  EXPECT_EQ(lanes.in_flight(), 2u);
  EXPECT_EQ(lanes.start(now, 5), std::vector<std::string>{lane_of("c")})
      << "a lane that sends starts nothing more";
  lanes.finish(lane_of("a"), /*recording=*/false);
  EXPECT_EQ(lanes.held(), 3u);
  EXPECT_EQ(lanes.start(now, 5), std::vector<std::string>{lane_of("a")});
  EXPECT_EQ(lanes.front(lane_of("a")).id, 3) << "the chat's next message, in order";
}

TEST(OutboxLanesTest, ARetryHoldsItsChatOnlyUntilItsTimeAndCountsTheAttempt) {
  OutboxLanes lanes(10, 100);
  lanes.add(messages({{1, "a"}, {2, "a"}, {3, "b"}}));
  const auto now = Steady::now();
  ASSERT_EQ(lanes.start(now, 1), std::vector<std::string>{lane_of("a")});
  lanes.retry(lane_of("a"), now + 5s);
  EXPECT_EQ(lanes.in_flight(), 0u);
  EXPECT_EQ(lanes.front(lane_of("a")).id, 1) << "it stays first";
  EXPECT_EQ(lanes.front(lane_of("a")).attempts, 1);
  EXPECT_EQ(lanes.held(), 3u);
  EXPECT_EQ(lanes.next_retry(now), now + 5s);
  EXPECT_EQ(lanes.start(now, 5), std::vector<std::string>{lane_of("b")}) << "b goes on";
  EXPECT_EQ(lanes.start(now + 4s, 5), std::vector<std::string>{}) << "a waits, 2 behind it";
  EXPECT_FALSE(lanes.next_retry(now + 5s)) << "its time has come: no later retry";
  EXPECT_EQ(lanes.start(now + 5s, 5), std::vector<std::string>{lane_of("a")});
  EXPECT_EQ(lanes.front(lane_of("a")).id, 1);
}

TEST(OutboxLanesTest, ASentMessageIsHeldUntilItsRecordIsWritten) {
  OutboxLanes lanes(10, 2);
  lanes.add(messages({{1, "a"}, {2, "a"}}));
  EXPECT_EQ(lanes.room(), 0u);
  ASSERT_EQ(lanes.start(Steady::now(), 5).size(), 1u);
  lanes.finish(lane_of("a"), /*recording=*/true);
  EXPECT_EQ(lanes.recording(), 1u);
  EXPECT_EQ(lanes.room(), 0u) << "the store counts it out until its record is written";
  EXPECT_EQ(lanes.start(Steady::now(), 5), std::vector<std::string>{lane_of("a")})
      << "the chat's next message need not wait for that";
  lanes.recorded();
  EXPECT_EQ(lanes.room(), 1u);
  lanes.finish(lane_of("a"), /*recording=*/false);
  EXPECT_EQ(lanes.held(), 0u);
  EXPECT_EQ(lanes.room(), 2u);
}

TEST(OutboxLanesTest, MessagesAddedWhileTheFirstIsSentKeepItInPlace) {
  OutboxLanes lanes(10, 100);
  lanes.add(messages({{1, "a"}}));
  ASSERT_EQ(lanes.start(Steady::now(), 5).size(), 1u);
  const OutboxItem& sending = lanes.front(lane_of("a"));
  std::vector<OutboxItem> more;
  for (int id = 2; id < 200; ++id) more.push_back(message(id, "a"));
  lanes.add(std::move(more));
  EXPECT_EQ(&sending, &lanes.front(lane_of("a")));
  EXPECT_EQ(sending.id, 1);
  EXPECT_EQ(lanes.lane_depth(), 10u);
}

TEST(OutboxLanesTest, ALaneBackFromItsRetryTakesItsPlaceByItsFirstMessage) {
  OutboxLanes lanes(10, 100);
  lanes.add(messages({{1, "a"}, {2, "b"}, {5, "c"}}));
  const auto now = Steady::now();
  ASSERT_EQ(lanes.start(now, 1), std::vector<std::string>{lane_of("a")});
  lanes.retry(lane_of("a"), now + 2s);
  lanes.add(messages({{6, "a"}, {7, "d"}}));  // behind a's retry; d is new
  EXPECT_EQ(lanes.start(now + 1s, 1), std::vector<std::string>{lane_of("b")});
  lanes.finish(lane_of("b"), /*recording=*/false);
  ASSERT_EQ(lanes.start(now + 1s, 1), std::vector<std::string>{lane_of("c")});
  lanes.retry(lane_of("c"), now + 1s);
  EXPECT_EQ(lanes.next_retry(now), now + 1s);
  EXPECT_EQ(lanes.next_retry(now + 1s), now + 2s) << "a time that has come is not a later one";
  EXPECT_EQ(lanes.start(now + 3s, 10),
            (std::vector<std::string>{lane_of("a"), lane_of("c"), lane_of("d")}))
      << "by their first messages, 1, 5 and 7, whatever order they became ready in";
  EXPECT_FALSE(lanes.next_retry(now));
  lanes.finish(lane_of("a"), /*recording=*/false);
  EXPECT_EQ(lanes.start(now + 3s, 10), std::vector<std::string>{lane_of("a")});
  EXPECT_EQ(lanes.front(lane_of("a")).id, 6);
}

TEST(OutboxLanesTest, ThousandsOfChatsGoOldestFirst) {
  OutboxLanes lanes(4, 100'000);
  std::vector<std::pair<std::int64_t, std::string>> list;
  for (std::int64_t id = 1; id <= 20'000; ++id) {
    list.emplace_back(id, "c" + std::to_string(id % 5'000));
  }
  lanes.add(messages(list));
  // Each chat's next message (its id + 5,000) is younger than every first one left, so the
  // messages go out exactly in id order, 64 at a time.
  std::int64_t expected = 1;
  for (auto started = lanes.start(Steady::now(), 64); !started.empty();
       started = lanes.start(Steady::now(), 64)) {
    EXPECT_LE(started.size(), 64u);
    for (const auto& lane : started) {
      ASSERT_EQ(lanes.front(lane).id, expected++);
      lanes.finish(lane, /*recording=*/false);
    }
  }
  EXPECT_EQ(expected, 20'001);
  EXPECT_EQ(lanes.held(), 0u);
}

}  // namespace
}  // namespace botgate
