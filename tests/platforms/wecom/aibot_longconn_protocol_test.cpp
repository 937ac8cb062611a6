#include "botgate/platforms/wecom/aibot_longconn_protocol.hpp"

#include "botgate/platforms/wecom/wecom_webhook.hpp"

#include "support/run_until.hpp"
#include "support/gateway_actions.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace botgate::wecom {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

WecomConfig config() {
  WecomConfig c;
  c.bot_name = "ai";
  c.kind = WecomKind::aibot;
  c.long_connection = true;
  c.bot_id = "aibXYZ";
  c.secret = "s3cret";
  c.ping_interval = 30s;
  return c;
}

std::string answer(const std::string& req_id, std::int64_t errcode, std::string errmsg = "ok") {
  return json::serialize(json::object{{"headers", json::object{{"req_id", req_id}}},
                                      {"errcode", errcode}, {"errmsg", errmsg}});
}

std::string callback(std::string cmd, std::string req_id, json::object body) {
  return json::serialize(json::object{{"cmd", cmd},
                                      {"headers", json::object{{"req_id", req_id}}},
                                      {"body", std::move(body)}});
}

json::object text_message(std::string text, std::string msgid = "m1") {
  return json::object{{"msgid", msgid}, {"aibotid", "aibXYZ"}, {"chattype", "group"},
                      {"chatid", "wrkChat"}, {"from", json::object{{"userid", "lisi"}}},
                      {"create_time", 1700000000}, {"msgtype", "text"},
                      {"text", json::object{{"content", std::move(text)}}}};
}

using test::action_at;

struct Rig {
  boost::asio::io_context io;
  std::shared_ptr<AibotLink> link = std::make_shared<AibotLink>(io.get_executor());
  AibotLongconnProtocol protocol{config(), link};

  /// Connects and answers the subscribe with `errcode`; the actions of that answer.
  std::vector<GatewayAction> subscribe(std::int64_t errcode = 0) {
    const auto opened = protocol.on_connected("");
    const auto frame = json::parse(action_at<SendFrame>(opened, 0).text).as_object();
    return protocol.on_frame(answer(std::string(frame.at("headers").at("req_id").as_string()),
                                    errcode, errcode == 0 ? "ok" : "invalid bot_id or secret"));
  }
};

TEST(AibotLongconnProtocolTest, SubscribesWithTheBotIdAndSecretThenPingsEveryInterval) {
  Rig r;
  const auto opened = r.protocol.on_connected("");
  ASSERT_EQ(opened.size(), 2u);
  const auto frame = json::parse(action_at<SendFrame>(opened, 0).text).as_object();
  EXPECT_EQ(frame.at("cmd"), "aibot_subscribe");
  EXPECT_EQ(frame.at("body"), (json::object{{"bot_id", "aibXYZ"}, {"secret", "s3cret"}}));
  const std::string req_id(frame.at("headers").at("req_id").as_string());
  EXPECT_TRUE(req_id.starts_with("aibot_subscribe_")) << req_id;
  EXPECT_EQ(action_at<StartHeartbeat>(opened, 1), (StartHeartbeat{30s, 30s}));

  const auto live = r.protocol.on_frame(answer(req_id, 0));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<SaveSession>(live[0]));

  const auto beat = r.protocol.on_heartbeat_due();
  ASSERT_EQ(beat.size(), 1u);
  const auto ping = json::parse(action_at<SendFrame>(beat, 0).text).as_object();
  EXPECT_EQ(ping.at("cmd"), "ping");
  EXPECT_TRUE(std::string(ping.at("headers").at("req_id").as_string()).starts_with("ping_"));
  EXPECT_FALSE(ping.contains("body"));
}

TEST(AibotLongconnProtocolTest, AWrongSecretIsFatalAndOtherRefusalsReconnect) {
  Rig r;
  const auto refused = r.subscribe(kAibotBadCredentials);
  ASSERT_EQ(refused.size(), 1u);
  const std::string& reason = action_at<Fatal>(refused, 0).reason;
  EXPECT_NE(reason.find("853000"), std::string::npos) << reason;
  EXPECT_NE(reason.find("secret"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("s3cret"), std::string::npos) << reason;
  EXPECT_TRUE(r.protocol.on_heartbeat_due().empty());  // the connection is over

  Rig busy;
  const auto again = busy.subscribe(6000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(action_at<Reconnect>(again, 0).reason.find("6000"), std::string::npos);
}

TEST(AibotLongconnProtocolTest, TwoUnansweredPingsReplaceTheConnectionAndAnAckResetsThem) {
  Rig r;
  r.subscribe();
  const auto first = r.protocol.on_heartbeat_due();
  const auto ping = json::parse(action_at<SendFrame>(first, 0).text).as_object();
  const std::string ping_id(ping.at("headers").at("req_id").as_string());
  EXPECT_TRUE(r.protocol.on_frame(answer(ping_id, 0)).empty());  // acked: the count restarts
  EXPECT_EQ(r.protocol.on_heartbeat_due().size(), 1u);             // missed 1
  const auto second = r.protocol.on_heartbeat_due();               // missed 2
  const auto refused = json::parse(action_at<SendFrame>(second, 0).text).as_object();
  // A refused ping counts as unanswered, as in the SDK.
  EXPECT_TRUE(r.protocol.on_frame(answer(std::string(refused.at("headers").at("req_id")
                                                         .as_string()), 500, "no")).empty());
  const auto dead = r.protocol.on_heartbeat_due();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(action_at<Reconnect>(dead, 0).reason.find("2 pings"), std::string::npos);
  EXPECT_TRUE(r.protocol.on_closed(kNoCloseCode).empty());
}

TEST(AibotLongconnProtocolTest, ASubscribeLeftUnansweredUntilTheFirstPingReconnects) {
  Rig r;
  r.protocol.on_connected("");
  const auto due = r.protocol.on_heartbeat_due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Reconnect>(due[0]));
}

TEST(AibotLongconnProtocolTest, AMessageIsReadAsTheWebhookReadsItWithTheReqIdToAnswer) {
  Rig r;
  r.subscribe();
  const auto actions =
      r.protocol.on_frame(callback("aibot_msg_callback", "cb-1", text_message("@RobotA hi")));
  ASSERT_EQ(actions.size(), 1u);
  const Event& event = action_at<EmitEvent>(actions, 0).event;
  EXPECT_EQ(event.platform, "wecom");
  EXPECT_EQ(event.bot, "ai");
  EXPECT_EQ(event.platform_event_id, "m1");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.chat.id, "wrkChat");
  EXPECT_EQ(event.sender.id, "lisi");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "hi");
  EXPECT_EQ(event.reply_credential, "cb-1");
  EXPECT_TRUE(r.link->is_current_callback("cb-1"));

  // The same body through the webhook's reader: the same event but for the credential.
  auto webhook = read_aibot_message(text_message("@RobotA hi"), config());
  ASSERT_TRUE(webhook && *webhook);
  Event same = **webhook;
  same.reply_credential = "cb-1";
  same.time = event.time;
  EXPECT_EQ(same, event);
}

TEST(AibotLongconnProtocolTest, UnreadableFramesAreSkippedAndOtherEventsIgnored) {
  Rig r;
  r.subscribe();
  EXPECT_TRUE(std::holds_alternative<SkipFrame>(r.protocol.on_frame("{not json").at(0)));
  EXPECT_TRUE(std::holds_alternative<SkipFrame>(
      r.protocol.on_frame(callback("aibot_msg_callback", "cb-2", json::object{{"msgtype", "text"}}))
          .at(0)));
  EXPECT_TRUE(std::holds_alternative<SkipFrame>(
      r.protocol.on_frame(callback("something_new", "cb-3", json::object{})).at(0)));
  const json::object enter{{"msgtype", "event"},
                           {"event", json::object{{"eventtype", "enter_chat"}}}};
  EXPECT_TRUE(r.protocol.on_frame(callback("aibot_event_callback", "cb-4", enter)).empty());
  json::object file = text_message("");
  file["msgtype"] = "file";
  EXPECT_TRUE(r.protocol.on_frame(callback("aibot_msg_callback", "cb-5", file)).empty());
}

TEST(AibotLongconnProtocolTest, DisconnectedEventStopsTheBotWithTheReason) {
  Rig r;
  r.subscribe();
  const json::object kicked{{"msgtype", "event"},
                            {"event", json::object{{"eventtype", "disconnected_event"}}}};
  const auto actions = r.protocol.on_frame(callback("aibot_event_callback", "cb-9", kicked));
  ASSERT_EQ(actions.size(), 1u);
  const std::string& reason = action_at<Fatal>(actions, 0).reason;
  EXPECT_NE(reason.find("another client"), std::string::npos) << reason;
  EXPECT_NE(reason.find("disconnected_event"), std::string::npos) << reason;
  EXPECT_TRUE(r.protocol.on_heartbeat_due().empty());
}

TEST(AibotLongconnProtocolTest, AnswersToOurRequestsGoToTheLinkAndANewConnectionForgetsThem) {
  Rig r;
  std::vector<std::string> written;
  r.link->set_writer([&](std::string text) -> asio::awaitable<Result<void>> {
    written.push_back(std::move(text));
    co_return Result<void>{};
  });
  r.subscribe();
  r.protocol.on_frame(callback("aibot_msg_callback", "cb-1", text_message("hi")));
  std::optional<Result<AibotAnswer>> got;
  asio::co_spawn(
      r.io,
      [&]() -> asio::awaitable<void> {
        std::string cmd = "aibot_send_msg";
        json::object body{{"chatid", "c"}};
        got = co_await r.link->request(std::move(cmd), std::move(body));
      },
      asio::detached);
  r.io.poll();
  ASSERT_EQ(written.size(), 1u);
  const auto sent = json::parse(written[0]).as_object();
  EXPECT_EQ(sent.at("cmd"), "aibot_send_msg");
  const std::string req_id(sent.at("headers").at("req_id").as_string());
  EXPECT_TRUE(r.protocol.on_frame(answer(req_id, 45009, "api freq out of limit")).empty());
  r.io.poll();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->errcode, 45009);

  // The connection drops: its callbacks can no longer be answered on the next one.
  EXPECT_TRUE(std::holds_alternative<Reconnect>(r.protocol.on_closed(1006).at(0)));
  EXPECT_FALSE(r.link->is_current_callback("cb-1"));
}

}  // namespace
}  // namespace botgate::wecom
