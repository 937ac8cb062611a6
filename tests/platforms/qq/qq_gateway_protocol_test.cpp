#include "botgate/platforms/qq/qq_gateway_protocol.hpp"

#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

const std::string kCredential = "QQBot eyJhbGciOi.access-token.XyZ";
const std::string kBotId = "6158788878435714165";
const std::string kSessionId = "082ee18c-0be3-491b-9d8b-382b4a0e5f9d";

std::string frame(std::string_view name) {
  const std::string path = botgate::test::testdata_path("qq/" + std::string(name));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing test data " + path);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

QqGatewayOptions options() {
  QqGatewayOptions o;
  o.bot_name = "qq-bot";
  o.unit_random = [] { return 0.5; };
  return o;
}

/// The single action in `actions`, of type T; fails the test otherwise.
template <class T>
T only(const std::vector<GatewayAction>& actions) {
  EXPECT_EQ(actions.size(), 1U);
  if (actions.size() != 1 || !std::holds_alternative<T>(actions[0])) {
    ADD_FAILURE() << "unexpected actions (" << actions.size() << ")";
    return T{};
  }
  return std::get<T>(actions[0]);
}

json::value sent_json(const std::vector<GatewayAction>& actions) {
  return json::parse(only<SendFrame>(actions).text);
}

GatewaySession ready_session(std::int64_t sequence) {
  GatewaySession s;
  s.session_id = kSessionId;
  s.sequence = sequence;
  s.user_id = kBotId;
  return s;
}

/// A protocol connected and identified, READY seen (s 1).
struct Ready {
  QqGatewayProtocol protocol{options()};
  Ready() {
    EXPECT_TRUE(protocol.on_connected(kCredential).empty());
    EXPECT_EQ(protocol.on_frame(frame("hello.json")).size(), 2U);
    (void)only<SaveSession>(protocol.on_frame(frame("ready.json")));
  }
};

Event message_event(QqGatewayProtocol& protocol, std::string_view frame_text) {
  return only<EmitEvent>(protocol.on_frame(frame_text)).event;
}

// --- Hello, identify, resume ----------------------------------------------------------------

TEST(QqGatewayProtocolTest, HelloStartsAJitteredHeartbeatAndIdentifies) {
  QqGatewayProtocol protocol(options());
  EXPECT_TRUE(protocol.on_connected(kCredential).empty());
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  ASSERT_TRUE(std::holds_alternative<StartHeartbeat>(actions[0]));
  EXPECT_EQ(std::get<StartHeartbeat>(actions[0]),
            (StartHeartbeat{milliseconds(45000), milliseconds(22500)}));
  ASSERT_TRUE(std::holds_alternative<SendFrame>(actions[1]));
  // Notes 4.2 step 3, with the default intents 1<<30 | 1<<12 | 1<<25.
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text),
            json::parse(R"({"op":2,"d":{"token":")" + kCredential +
                        R"(","intents":1107300352,"shard":[0,1],"properties":{}}})"));
}

TEST(QqGatewayProtocolTest, IdentifyCarriesTheConfiguredIntentsAndShard) {
  QqGatewayOptions o = options();
  o.intents = qq_intents_from_names({"group_and_c2c_event"});
  o.shard_id = 2;
  o.shard_count = 4;
  QqGatewayProtocol protocol(o);
  (void)protocol.on_connected(kCredential);
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  const auto d = json::parse(std::get<SendFrame>(actions[1]).text).at("d").as_object();
  EXPECT_EQ(d.at("intents"), 33554432);
  EXPECT_EQ(d.at("shard"), json::parse("[2,4]"));
}

TEST(QqGatewayProtocolTest, FirstBeatIsIntervalTimesTheRandomFraction) {
  QqGatewayOptions o = options();
  o.unit_random = [] { return 0.0; };
  QqGatewayProtocol protocol(o);
  (void)protocol.on_connected(kCredential);
  const auto actions = protocol.on_frame(R"({"op":10,"d":{"heartbeat_interval":1000}})");
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(std::get<StartHeartbeat>(actions[0]),
            (StartHeartbeat{milliseconds(1000), milliseconds(0)}));
}

TEST(QqGatewayProtocolTest, HelloWithARestoredSessionResumesWithTheFreshCredential) {
  QqGatewayProtocol protocol(options());
  protocol.restore(ready_session(1337));
  (void)protocol.on_connected("QQBot fresh-token");
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<StartHeartbeat>(actions[0]));
  // Notes 4.2: the resume token keeps the "QQBot " prefix.
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text),
            json::parse(R"({"op":6,"d":{"token":"QQBot fresh-token","session_id":")" +
                        kSessionId + R"(","seq":1337}})"));
}

TEST(QqGatewayProtocolTest, RestoreDropsAResumeUrlQqDoesNotHave) {
  QqGatewayProtocol protocol(options());
  GatewaySession s = ready_session(3);
  s.resume_url = "wss://elsewhere.example";
  protocol.restore(s);
  EXPECT_EQ(protocol.session(), ready_session(3));
}

TEST(QqGatewayProtocolTest, HelloWithoutAnIntervalAsksForANewConnection) {
  QqGatewayProtocol protocol(options());
  (void)protocol.on_connected(kCredential);
  const auto reconnect = only<Reconnect>(protocol.on_frame(R"({"op":10,"d":{}})"));
  EXPECT_FALSE(reconnect.resume);  // nothing to resume yet
}

// --- Dispatch and session ------------------------------------------------------------------

TEST(QqGatewayProtocolTest, ReadySavesTheSessionAndTheBotId) {
  QqGatewayProtocol protocol(options());
  (void)protocol.on_connected(kCredential);
  (void)protocol.on_frame(frame("hello.json"));
  const auto saved = only<SaveSession>(protocol.on_frame(frame("ready.json")));
  EXPECT_EQ(saved.session, ready_session(1));
  EXPECT_EQ(protocol.session(), saved.session);
}

TEST(QqGatewayProtocolTest, ResumedSavesTheSessionWithItsSequence) {
  QqGatewayProtocol protocol(options());
  protocol.restore(ready_session(40));
  (void)protocol.on_connected(kCredential);
  (void)protocol.on_frame(frame("hello.json"));
  const auto saved = only<SaveSession>(protocol.on_frame(frame("resumed.json")));
  EXPECT_EQ(saved.session, ready_session(2002));
}

TEST(QqGatewayProtocolTest, EveryDispatchMovesTheSequenceAndNullOrZeroDoesNot) {
  Ready r;
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":7,"t":"GUILD_CREATE","d":{"id":"1"}})").empty());
  EXPECT_EQ(r.protocol.session().sequence, 7);
  EXPECT_TRUE(r.protocol.on_frame(frame("heartbeat_ack.json")).empty());
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":null,"t":"X","d":{}})").empty());
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":0,"t":"X","d":{}})").empty());
  EXPECT_EQ(r.protocol.session().sequence, 7);
}

// --- Message events ------------------------------------------------------------------------------

TEST(QqGatewayProtocolTest, EachMessageKindBecomesAnEvent) {
  struct Case {
    const char* file;
    ChatType type;
    const char* chat_id;
    const char* message_id;
    const char* text;
    const char* reply_context;
    std::int64_t sequence;
  };
  const std::vector<Case> cases{
      {"at_message_create.json", ChatType::channel, "100010", "0812345677890abcdef", "hello",
       "channel", 5},
      {"message_create.json", ChatType::channel, "100010", "0812345677890abcdf0",
       "a <b> & @carol c", "channel", 6},
      {"c2c_message_create.json", ChatType::private_chat, "E4F4AEA33253A2797FB897C50B81D7ED",
       "ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!", "123", "c2c", 7},
      {"group_at_message_create.json", ChatType::group, "A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2",
       "ROBOT1.0_group.msg.0001!", "123", "group", 9},
      {"direct_message_create.json", ChatType::private_chat, "9876543210123",
       "08aabbccddeeff0011", "hi there", "dms", 10},
  };
  for (const Case& c : cases) {
    Ready r;
    const Event event = message_event(r.protocol, frame(c.file));
    EXPECT_EQ(event.platform, "qq") << c.file;
    EXPECT_EQ(event.bot, "qq-bot") << c.file;
    EXPECT_EQ(event.chat.type, c.type) << c.file;
    EXPECT_EQ(event.chat.id, c.chat_id) << c.file;
    EXPECT_EQ(event.reply_context, c.reply_context) << c.file;
    ASSERT_TRUE(event.message) << c.file;
    EXPECT_EQ(event.message->id, c.message_id) << c.file;
    EXPECT_EQ(event.message->text, c.text) << c.file;
    // The payload's top-level id is the event id.
    const auto top = json::parse(frame(c.file)).as_object();
    EXPECT_EQ(event.platform_event_id, top.at("id").as_string()) << c.file;
    EXPECT_EQ(r.protocol.session().sequence, c.sequence) << c.file;
  }
}

TEST(QqGatewayProtocolTest, ReadysBotIdDrivesMentionStripping) {
  Ready r;
  const Event event = message_event(
      r.protocol,
      R"({"op":0,"s":3,"id":"e","t":"MESSAGE_CREATE","d":{"id":"m","channel_id":"C",
          "guild_id":"G","content":"<@!6158788878435714165> ping","author":{"id":"1"}}})");
  EXPECT_EQ(event.message->text, "ping");
  EXPECT_TRUE(event.message->mentions_bot);
}

TEST(QqGatewayProtocolTest, AMalformedMessageIsDroppedButCounted) {
  Ready r;
  EXPECT_TRUE(
      r.protocol.on_frame(R"({"op":0,"s":4,"t":"C2C_MESSAGE_CREATE","d":{"content":"x"}})")
          .empty());
  EXPECT_EQ(r.protocol.session().sequence, 4);
}

// --- Heartbeats ------------------------------------------------------------------------------

TEST(QqGatewayProtocolTest, HeartbeatCarriesNullBeforeTheFirstDispatch) {
  QqGatewayProtocol protocol(options());
  (void)protocol.on_connected(kCredential);
  (void)protocol.on_frame(frame("hello.json"));
  EXPECT_EQ(sent_json(protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":null})"));
}

TEST(QqGatewayProtocolTest, HeartbeatCarriesTheLastSequence) {
  Ready r;
  EXPECT_EQ(sent_json(r.protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":1})"));
  (void)r.protocol.on_frame(frame("heartbeat_ack.json"));
  (void)r.protocol.on_frame(frame("c2c_message_create.json"));  // s 7
  EXPECT_EQ(sent_json(r.protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":7})"));
}

TEST(QqGatewayProtocolTest, AcknowledgedBeatsKeepGoing) {
  Ready r;
  for (int i = 0; i < 3; ++i) {
    (void)only<SendFrame>(r.protocol.on_heartbeat_due());
    EXPECT_TRUE(r.protocol.on_frame(frame("heartbeat_ack.json")).empty());
  }
}

TEST(QqGatewayProtocolTest, AMissingAckIsAZombieThatResumes) {
  Ready r;
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
  const auto reconnect = only<Reconnect>(r.protocol.on_heartbeat_due());
  EXPECT_TRUE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());  // QQ has no resume URL
  EXPECT_NE(reconnect.reason.find("zombie"), std::string::npos);
  // The connection is over: nothing more for it, and its close is not reported twice.
  EXPECT_TRUE(r.protocol.on_heartbeat_due().empty());
  EXPECT_TRUE(r.protocol.on_frame(frame("c2c_message_create.json")).empty());
  EXPECT_TRUE(r.protocol.on_closed(4000).empty());
  EXPECT_EQ(r.protocol.session().sequence, 1);  // ignored frames will be replayed by the resume
  // The next connection starts clean and resumes.
  EXPECT_TRUE(r.protocol.on_connected(kCredential).empty());
  const auto actions = r.protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 6);
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
}

TEST(QqGatewayProtocolTest, AZombieWithoutASessionReconnectsToIdentify) {
  QqGatewayProtocol protocol(options());
  (void)protocol.on_connected(kCredential);
  (void)protocol.on_frame(frame("hello.json"));
  (void)only<SendFrame>(protocol.on_heartbeat_due());
  EXPECT_FALSE(only<Reconnect>(protocol.on_heartbeat_due()).resume);
}

TEST(QqGatewayProtocolTest, AServerHeartbeatRequestIsAnsweredAtOnce) {
  Ready r;
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
  EXPECT_EQ(sent_json(r.protocol.on_frame(R"({"op":1,"d":null})")),
            json::parse(R"({"op":1,"d":1})"));
  // The answer does not count as the ACK of the timer's beat.
  (void)only<Reconnect>(r.protocol.on_heartbeat_due());
}

// --- op 7, op 9 --------------------------------------------------------------------------------

TEST(QqGatewayProtocolTest, ReconnectRequestResumes) {
  Ready r;
  const auto reconnect = only<Reconnect>(r.protocol.on_frame(frame("reconnect.json")));
  EXPECT_TRUE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
  EXPECT_EQ(reconnect.delay, milliseconds(0));
  EXPECT_EQ(r.protocol.session(), ready_session(1));
}

TEST(QqGatewayProtocolTest, ResumableInvalidSessionResumes) {
  Ready r;
  const auto reconnect =
      only<Reconnect>(r.protocol.on_frame(frame("invalid_session_resumable.json")));
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(r.protocol.session(), ready_session(1));
}

TEST(QqGatewayProtocolTest, InvalidSessionForgetsItAndIdentifiesAfterOneToFiveSeconds) {
  Ready r;
  const auto reconnect = only<Reconnect>(r.protocol.on_frame(frame("invalid_session.json")));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
  EXPECT_EQ(reconnect.delay, milliseconds(3000));  // 1 s + 4 s x 0.5
  const GatewaySession session = r.protocol.session();
  EXPECT_FALSE(session.resumable());
  EXPECT_EQ(session.sequence, 0);
  EXPECT_EQ(session.user_id, kBotId);  // still the same bot
  (void)r.protocol.on_connected(kCredential);
  const auto actions = r.protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 2);
}

// --- Close codes (notes 4.3) -------------------------------------------------------------------

TEST(QqGatewayProtocolTest, FatalCloseCodesStopWithWhatToFix) {
  const std::vector<std::pair<int, std::string>> fatal{
      {4010, "shard_count"}, {4011, "shard_count"}, {4012, "botgate bug"},
      {4013, "intents"},     {4014, "public_guild_messages"}, {4914, "offline"},
      {4915, "banned"},
  };
  for (const auto& [code, hint] : fatal) {
    Ready r;
    const auto stop = only<Fatal>(r.protocol.on_closed(code));
    EXPECT_NE(stop.reason.find(std::to_string(code)), std::string::npos) << stop.reason;
    EXPECT_NE(stop.reason.find(hint), std::string::npos) << stop.reason;
    EXPECT_EQ(stop.reason.find("access-token"), std::string::npos) << "token leaked";
  }
}

TEST(QqGatewayProtocolTest, IntentNotPermittedNamesTheIntentsAskedFor) {
  QqGatewayOptions o = options();
  o.intents = qq_intents_from_names({"guild_messages", "forums_event"});
  QqGatewayProtocol protocol(o);
  (void)protocol.on_connected(kCredential);
  const auto stop = only<Fatal>(protocol.on_closed(4014));
  EXPECT_NE(stop.reason.find("guild_messages, forums_event"), std::string::npos) << stop.reason;
}

TEST(QqGatewayProtocolTest, AuthenticationAndSessionFailuresIdentifyAfresh) {
  // 4004 included: QQ access tokens expire, so the next connect identifies with a fresh one.
  for (const int code : {4001, 4002, 4003, 4004, 4005, 4006, 4007, 4900, 4913, 4999}) {
    Ready r;
    const auto reconnect = only<Reconnect>(r.protocol.on_closed(code));
    EXPECT_FALSE(reconnect.resume) << code;
    EXPECT_TRUE(reconnect.url.empty()) << code;
    EXPECT_EQ(reconnect.delay, milliseconds(0)) << code;
    EXPECT_FALSE(r.protocol.session().resumable()) << code;
    EXPECT_EQ(r.protocol.session().sequence, 0) << code;
    // Only 4004 says the token itself was refused: identifying with it again would fail again.
    EXPECT_EQ(reconnect.credential_rejected, code == 4004) << code;
  }
}

TEST(QqGatewayProtocolTest, ExpiredConnectionsAndNetworkClosesResume) {
  for (const int code : {kNoCloseCode, 1000, 1001, 1006, 4008, 4009}) {
    Ready r;
    const auto reconnect = only<Reconnect>(r.protocol.on_closed(code));
    EXPECT_TRUE(reconnect.resume) << code;
    EXPECT_EQ(r.protocol.session(), ready_session(1)) << code;
  }
}

TEST(QqGatewayProtocolTest, ACloseBeforeReadyReconnectsToIdentify) {
  QqGatewayProtocol protocol(options());
  (void)protocol.on_connected(kCredential);
  EXPECT_FALSE(only<Reconnect>(protocol.on_closed(4009)).resume);
}

// --- Frames that are not for us ---------------------------------------------------------------

TEST(QqGatewayProtocolTest, AMalformedFrameIsSkippedAndTheConnectionGoesOn) {
  // A resume would replay the same frame after the last sequence, and resume again, forever.
  for (const std::string_view bad : {"not json", "[1,2]", R"({"d":null})", R"({"op":"x"})"}) {
    Ready r;
    const auto skip = only<SkipFrame>(r.protocol.on_frame(bad));
    EXPECT_FALSE(skip.reason.empty()) << bad;
    (void)only<EmitEvent>(r.protocol.on_frame(frame("c2c_message_create.json")));
  }
}

TEST(QqGatewayProtocolTest, ASkippedFrameWithASequenceMovesTheSession) {
  Ready r;
  (void)only<SkipFrame>(r.protocol.on_frame(R"({"op":"x","s":9})"));
  EXPECT_EQ(r.protocol.session().sequence, 9);
}

TEST(QqGatewayProtocolTest, UnknownOpcodesAndEventsAreIgnored) {
  Ready r;
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":42,"d":{}})").empty());
  EXPECT_TRUE(
      r.protocol.on_frame(R"({"op":0,"s":2,"t":"GROUP_ADD_ROBOT","d":{"group_openid":"G"}})")
          .empty());
  EXPECT_EQ(r.protocol.session().sequence, 2);
}

}  // namespace
}  // namespace botgate::qq
