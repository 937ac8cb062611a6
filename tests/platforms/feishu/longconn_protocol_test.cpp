#include "botgate/platforms/feishu/longconn_protocol.hpp"

#include "support/gateway_actions.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace botgate::feishu {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

FeishuConfig config() {
  FeishuConfig c;
  c.bot_name = "fs";
  c.platform = "feishu";
  c.app_id = "cli_app";
  c.long_connection = true;
  return c;
}

std::string message_event_json(std::string event_id, std::string app_id = "cli_app",
                               std::string type = "im.message.receive_v1") {
  json::object content{{"text", "hello"}};
  json::object message{{"message_id", "om_" + event_id}, {"chat_id", "oc_chat"},
                       {"chat_type", "group"}, {"message_type", "text"},
                       {"content", json::serialize(content)}};
  json::object sender{{"sender_id", json::object{{"open_id", "ou_user"}}},
                      {"sender_type", "user"}};
  json::object header{{"event_id", event_id}, {"event_type", type}, {"app_id", app_id},
                      {"create_time", "1700000000000"}};
  json::object root{{"schema", "2.0"}, {"header", header},
                    {"event", json::object{{"message", message}, {"sender", sender}}}};
  return json::serialize(root);
}

LongconnFrame event_frame(std::string payload, std::string message_id = "m1", int sum = 1,
                          int seq = 0, std::uint64_t seq_id = 11) {
  LongconnFrame f;
  f.seq_id = seq_id;
  f.log_id = 22;
  f.service = 5;
  f.method = kDataFrame;
  f.headers = {{"type", "event"},       {"message_id", message_id},
               {"sum", std::to_string(sum)}, {"seq", std::to_string(seq)},
               {"trace_id", "t1"}};
  f.payload = std::move(payload);
  f.log_id_new = "lognew";
  return f;
}

LongconnFrame pong(std::string payload = {}) {
  LongconnFrame f;
  f.service = 5;
  f.method = kControlFrame;
  f.headers = {{"type", "pong"}};
  if (!payload.empty()) f.payload = std::move(payload);
  return f;
}

struct Rig {
  std::shared_ptr<LongconnSession> session = [] {
    auto s = std::make_shared<LongconnSession>();
    s->service_id = 5;
    s->client.ping_interval = 3s;
    s->client.reconnect_nonce = 10s;
    return s;
  }();
  Clock::time_point now = Clock::time_point{} + 1h;
  LongconnProtocol protocol{config(), std::make_shared<BotIdentity>(), session,
                            [] { return 0.5; }, [this] { return now; }};

  std::vector<GatewayAction> frame(const LongconnFrame& f) {
    return protocol.on_frame(encode_frame(f));
  }
};

using test::action_at;

/// The acknowledgement `bytes` must be: `sent` back, with biz_rt and {"code":200}.
void expect_ack_of(const std::string& bytes, const LongconnFrame& sent) {
  const auto ack = decode_frame(bytes);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->seq_id, sent.seq_id);
  EXPECT_EQ(ack->log_id, sent.log_id);
  EXPECT_EQ(ack->service, sent.service);
  EXPECT_EQ(ack->method, kDataFrame);
  EXPECT_EQ(ack->log_id_new, sent.log_id_new);
  auto headers = sent.headers;
  headers.emplace_back("biz_rt", "0");
  EXPECT_EQ(ack->headers, headers);
  ASSERT_TRUE(ack->payload);
  EXPECT_EQ(json::parse(*ack->payload), json::parse(R"({"code":200})"));
}

TEST(LongconnProtocolTest, PingsAtOnceAndThenAtTheInterval) {
  Rig r;
  const auto opened = r.protocol.on_connected("");
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(action_at<StartHeartbeat>(opened, 0), (StartHeartbeat{3s, 0ms}));
  const auto beat = r.protocol.on_heartbeat_due();
  ASSERT_EQ(beat.size(), 1u);
  const auto ping = decode_frame(action_at<SendBinary>(beat, 0).bytes);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->method, kControlFrame);
  EXPECT_EQ(ping->service, 5);  // the URL's service_id
  EXPECT_EQ(ping->header("type"), "ping");
}

TEST(LongconnProtocolTest, APongProvesTheConnectionAndItsConfigMovesThePings) {
  Rig r;
  r.protocol.on_connected("");
  r.protocol.on_heartbeat_due();
  const auto first = r.frame(pong(R"({"PingInterval":7,"ReconnectNonce":2})"));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(action_at<StartHeartbeat>(first, 0), (StartHeartbeat{7s, 7s}));
  EXPECT_TRUE(std::holds_alternative<SaveSession>(first[1]));  // connected: once
  EXPECT_EQ(r.session->client.reconnect_nonce, 2s);
  r.protocol.on_heartbeat_due();
  EXPECT_TRUE(r.frame(pong(R"({"PingInterval":7})")).empty());  // nothing changed
  // Nonsense values leave the timers as they were.
  r.protocol.on_heartbeat_due();
  EXPECT_TRUE(r.frame(pong(R"({"PingInterval":0})")).empty());
  EXPECT_EQ(r.session->client.ping_interval, 7s);
}

TEST(LongconnProtocolTest, APingLeftUnansweredReplacesTheConnection) {
  Rig r;
  r.protocol.on_connected("");
  EXPECT_EQ(r.protocol.on_heartbeat_due().size(), 1u);
  const auto dead = r.protocol.on_heartbeat_due();
  ASSERT_EQ(dead.size(), 1u);
  const Reconnect& reconnect = action_at<Reconnect>(dead, 0);
  EXPECT_FALSE(reconnect.resume);
  EXPECT_NE(reconnect.reason.find("no pong"), std::string::npos);
  EXPECT_EQ(reconnect.delay, 5s);  // half of ReconnectNonce, as the random draw was 0.5
  // The connection is over for the protocol: nothing more from it.
  EXPECT_TRUE(r.protocol.on_heartbeat_due().empty());
  EXPECT_TRUE(r.protocol.on_closed(kNoCloseCode).empty());
}

TEST(LongconnProtocolTest, AnEventIsAcknowledgedOnlyOnceDurable) {
  Rig r;
  r.protocol.on_connected("");
  const LongconnFrame sent = event_frame(message_event_json("ev1"));
  const auto actions = r.frame(sent);
  ASSERT_EQ(actions.size(), 2u);
  const Event& event = action_at<EmitEvent>(actions, 0).event;
  EXPECT_EQ(event.bot, "fs");
  EXPECT_EQ(event.platform, "feishu");
  EXPECT_EQ(event.platform_event_id, "ev1");
  EXPECT_EQ(event.chat.id, "oc_chat");
  EXPECT_EQ(event.sender.id, "ou_user");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "hello");
  expect_ack_of(action_at<AckWhenDurable>(actions, 1).bytes, sent);
}

TEST(LongconnProtocolTest, FragmentsMakeOneEventAndARepeatCountsOnce) {
  Rig r;
  r.protocol.on_connected("");
  const std::string whole = message_event_json("ev2");
  const std::size_t third = whole.size() / 3;
  const std::string parts[] = {whole.substr(0, third), whole.substr(third, third),
                               whole.substr(2 * third)};
  EXPECT_TRUE(r.frame(event_frame(parts[0], "m2", 3, 0, 1)).empty());
  EXPECT_TRUE(r.frame(event_frame(parts[1], "m2", 3, 1, 2)).empty());
  EXPECT_TRUE(r.frame(event_frame(parts[1], "m2", 3, 1, 2)).empty());  // pushed twice
  const LongconnFrame last = event_frame(parts[2], "m2", 3, 2, 3);
  const auto actions = r.frame(last);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(action_at<EmitEvent>(actions, 0).event.platform_event_id, "ev2");
  expect_ack_of(action_at<AckWhenDurable>(actions, 1).bytes, last);
}

TEST(LongconnProtocolTest, EventsBotgateDoesNotHandleAreAcknowledgedAtOnce) {
  Rig r;
  r.protocol.on_connected("");
  const LongconnFrame other_type = event_frame(message_event_json("ev3", "cli_app", "im.chat.updated_v1"));
  const auto a = r.frame(other_type);
  ASSERT_EQ(a.size(), 1u);
  expect_ack_of(action_at<SendBinary>(a, 0).bytes, other_type);
  const LongconnFrame other_app = event_frame(message_event_json("ev4", "cli_other"));
  const auto b = r.frame(other_app);
  ASSERT_EQ(b.size(), 1u);
  expect_ack_of(action_at<SendBinary>(b, 0).bytes, other_app);
  // Unreadable: counted as skipped and acknowledged, or the platform pushes it forever.
  const LongconnFrame broken = event_frame("{not json");
  const auto c = r.frame(broken);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<SkipFrame>(c[0]));
  expect_ack_of(action_at<SendBinary>(c, 1).bytes, broken);
}

TEST(LongconnProtocolTest, WhatIsNotAFrameIsSkippedAndCardsAreLeft) {
  Rig r;
  r.protocol.on_connected("");
  const auto garbage = r.protocol.on_frame("{\"op\":10}");
  ASSERT_EQ(garbage.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<SkipFrame>(garbage[0]));
  LongconnFrame card = event_frame(message_event_json("ev5"));
  card.headers[0].second = "card";
  EXPECT_TRUE(r.frame(card).empty());
}

TEST(LongconnProtocolTest, AClosedConnectionIsReplacedWithoutResuming) {
  Rig r;
  r.protocol.on_connected("");
  const auto closed = r.protocol.on_closed(1006);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_FALSE(action_at<Reconnect>(closed, 0).resume);
  EXPECT_NE(action_at<Reconnect>(closed, 0).reason.find("1006"), std::string::npos);
  EXPECT_FALSE(r.protocol.session().resumable());
}

TEST(LongconnProtocolTest, ClientConfigReadsSeconds) {
  LongconnClientConfig c;
  EXPECT_TRUE(apply_client_config(
      R"({"PingInterval":90,"ReconnectInterval":30,"ReconnectNonce":0,"ReconnectCount":-1})", c));
  EXPECT_EQ(c.ping_interval, 90s);
  EXPECT_EQ(c.reconnect_interval, 30s);
  EXPECT_EQ(c.reconnect_nonce, 0s);
  EXPECT_FALSE(apply_client_config("[1]", c));
}

}  // namespace
}  // namespace botgate::feishu
