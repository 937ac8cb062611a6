#include "botgate/platforms/wecom/aibot_passive_streams.hpp"

#include <gtest/gtest.h>

namespace botgate::wecom {
namespace {

using namespace std::chrono_literals;
using Streams = AibotPassiveStreams;
using Published = Streams::Published;
using Delivery = Streams::Delivery;

const Streams::Clock::time_point t0{std::chrono::hours(1)};

TEST(AibotPassiveStreams, IdsAreStableDistinctAndDoNotShowTheUrl) {
  const std::string url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=SECRET";
  const std::string id = Streams::stream_id_for(url);
  EXPECT_EQ(id, Streams::stream_id_for(url));
  EXPECT_NE(id, Streams::stream_id_for(url + "2"));
  EXPECT_EQ(id.find("SECRET"), std::string::npos);
  EXPECT_EQ(id.size(), 34u);
}

TEST(AibotPassiveStreams, ARefreshShowsWhatWasPublishedAndTheFinishedOneIsDelivered) {
  Streams streams;
  streams.opened("s", t0);
  auto empty = streams.refresh("s", t0 + 1s);
  EXPECT_EQ(empty.content, "");
  EXPECT_FALSE(empty.finish);

  EXPECT_EQ(streams.publish("s", "m1", "Hel", false, t0 + 2s), Published::shown);
  EXPECT_EQ(streams.refresh("s", t0 + 3s).content, "Hel");
  EXPECT_EQ(streams.delivery("s", t0 + 3s), Delivery::waiting);
  EXPECT_EQ(streams.publish("s", "m1", "Hello", true, t0 + 4s), Published::shown);
  EXPECT_EQ(streams.delivery("s", t0 + 4s), Delivery::waiting);
  auto last = streams.refresh("s", t0 + 5s);
  EXPECT_EQ(last.content, "Hello");
  EXPECT_TRUE(last.finish);
  EXPECT_EQ(streams.delivery("s", t0 + 5s), Delivery::delivered);
  // A refresh that repeats the last one (its answer lost) gets the same.
  EXPECT_EQ(streams.refresh("s", t0 + 6s).content, "Hello");
}

TEST(AibotPassiveStreams, OneMessagePerStream) {
  Streams streams;
  streams.opened("s", t0);
  EXPECT_EQ(streams.publish("s", "m1", "first", true, t0 + 1s), Published::shown);
  EXPECT_EQ(streams.publish("s", "m2", "second", true, t0 + 1s), Published::closed);
  // The same message again (a retry) may publish.
  EXPECT_EQ(streams.publish("s", "m1", "first", true, t0 + 2s), Published::shown);
  streams.refresh("s", t0 + 3s);
  // Delivered: a retry with the same content counts as shown, other content cannot be.
  EXPECT_EQ(streams.publish("s", "m1", "first", true, t0 + 4s), Published::shown);
  EXPECT_EQ(streams.publish("s", "m1", "changed", true, t0 + 4s), Published::closed);
}

TEST(AibotPassiveStreams, WeComThatStopsAskingClosesTheStream) {
  Streams streams;
  streams.opened("s", t0);
  EXPECT_EQ(streams.publish("s", "m", "text", true, t0 + 1s), Published::shown);
  EXPECT_EQ(streams.delivery("s", t0 + Streams::kQuietLimit - 1s), Delivery::waiting);
  EXPECT_EQ(streams.delivery("s", t0 + Streams::kQuietLimit), Delivery::closed);
  // Nothing more is shown in it.
  EXPECT_EQ(streams.publish("s", "m", "text", true, t0 + Streams::kQuietLimit), Published::closed);
}

TEST(AibotPassiveStreams, RefreshesKeepItOpenUntilTheWindowEnds) {
  Streams streams;
  streams.opened("s", t0);
  auto t = t0;
  for (; t < t0 + Streams::kWindow - Streams::kWindowMargin; t += 5s) {
    ASSERT_EQ(streams.publish("s", "m", "thinking", false, t), Published::shown);
    streams.refresh("s", t);
  }
  EXPECT_EQ(streams.publish("s", "m", "done", true, t), Published::closed);
  EXPECT_EQ(streams.delivery("s", t), Delivery::closed);
}

TEST(AibotPassiveStreams, AfterARestartAStreamIsShownWhileWeComAsks) {
  Streams streams;  // a new process: the callback was answered by the one before
  EXPECT_EQ(streams.refresh("s", t0).content, "") << "unknown: still open, nothing to show";
  EXPECT_EQ(streams.size(), 0u) << "a refresh creates nothing";
  EXPECT_EQ(streams.publish("s", "m", "kept text", true, t0 + 1s), Published::shown);
  EXPECT_EQ(streams.refresh("s", t0 + 2s).content, "kept text");
  EXPECT_EQ(streams.delivery("s", t0 + 2s), Delivery::delivered);
}

TEST(AibotPassiveStreams, AnUnansweredMessageFinishesEmptyAndTakesNoLateReply) {
  Streams streams;
  streams.opened("s", t0);
  streams.finish_unanswered("s", t0 + 1s);
  auto answer = streams.refresh("s", t0 + 2s);
  EXPECT_TRUE(answer.finish);
  EXPECT_EQ(answer.content, "");
  EXPECT_EQ(streams.publish("s", "late", "late reply", true, t0 + 3s), Published::closed);

  // A message that has the stream already is not finished by it.
  streams.opened("t", t0);
  streams.publish("t", "m", "streaming", false, t0 + 1s);
  streams.finish_unanswered("t", t0 + 1s);
  EXPECT_FALSE(streams.refresh("t", t0 + 2s).finish);
}

TEST(AibotPassiveStreams, ARedeliveredMessageKeepsItsFirstWindow) {
  Streams streams;
  streams.opened("s", t0);
  streams.opened("s", t0 + 200s);
  auto t = t0 + 200s;
  for (; t < t0 + Streams::kWindow - Streams::kWindowMargin; t += 5s) streams.refresh("s", t);
  EXPECT_EQ(streams.publish("s", "m", "x", true, t), Published::closed);
}

TEST(AibotPassiveStreams, StreamsAreDroppedOnceWeComStoppedAsking) {
  Streams streams;
  for (int i = 0; i < 100; ++i) streams.opened("s" + std::to_string(i), t0);
  EXPECT_EQ(streams.size(), 100u);
  streams.opened("late", t0 + Streams::kWindow + Streams::kQuietLimit + 1s);
  EXPECT_EQ(streams.size(), 1u);
}

}  // namespace
}  // namespace botgate::wecom
