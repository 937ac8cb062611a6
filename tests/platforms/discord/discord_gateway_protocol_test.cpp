#include "botgate/platforms/discord/discord_gateway_protocol.hpp"

#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::discord {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

const std::string kToken = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
const std::string kBotId = "111111111111111111";
const std::string kSessionId = "d5b8e0c1a9f24f3b8a7c6e5d4c3b2a19";
const std::string kResumeUrl = "wss://gateway-us-east1-b.discord.gg";

std::string frame(std::string_view name) {
  const std::string path = botgate::test::testdata_path("discord/" + std::string(name));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing test data " + path);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

DiscordGatewayOptions options() {
  DiscordGatewayOptions o;
  o.bot_name = "discord-bot";
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

json::object sent_json(const std::vector<GatewayAction>& actions) {
  return json::parse(only<SendFrame>(actions).text).as_object();
}

/// A protocol connected and identified, READY seen (session d5b8…, s 1).
struct Ready {
  DiscordGatewayProtocol protocol{options()};
  Ready() {
    EXPECT_TRUE(protocol.on_connected(kToken).empty());
    EXPECT_EQ(protocol.on_frame(frame("hello.json")).size(), 2U);
    (void)only<SaveSession>(protocol.on_frame(frame("ready.json")));
  }
};

Event message_event(DiscordGatewayProtocol& protocol, std::string_view frame_text) {
  return only<EmitEvent>(protocol.on_frame(frame_text)).event;
}

// --- Hello, identify, resume ----------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, HelloStartsAJitteredHeartbeatAndIdentifies) {
  DiscordGatewayProtocol protocol(options());
  EXPECT_TRUE(protocol.on_connected(kToken).empty());
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  ASSERT_TRUE(std::holds_alternative<StartHeartbeat>(actions[0]));
  EXPECT_EQ(std::get<StartHeartbeat>(actions[0]),
            (StartHeartbeat{milliseconds(41250), milliseconds(20625)}));
  ASSERT_TRUE(std::holds_alternative<SendFrame>(actions[1]));
  const auto identify = json::parse(std::get<SendFrame>(actions[1]).text).as_object();
  EXPECT_EQ(identify.at("op"), 2);
  const auto& d = identify.at("d").as_object();
  EXPECT_EQ(d.at("token"), kToken.c_str());
  EXPECT_EQ(d.at("intents"), 37377);
  EXPECT_EQ(d.at("properties"),
            json::parse(R"({"os":"linux","browser":"botgate","device":"botgate"})"));
  EXPECT_EQ(d.at("shard"), json::parse("[0,1]"));
}

TEST(DiscordGatewayProtocolTest, IdentifyCarriesTheConfiguredIntentsAndShard) {
  DiscordGatewayOptions o = options();
  o.intents = discord_intents_from_names({"guilds", "guild_messages"});
  o.shard_id = 2;
  o.shard_count = 4;
  DiscordGatewayProtocol protocol(o);
  (void)protocol.on_connected(kToken);
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  const auto d = json::parse(std::get<SendFrame>(actions[1]).text).at("d").as_object();
  EXPECT_EQ(d.at("intents"), 513);
  EXPECT_EQ(d.at("shard"), json::parse("[2,4]"));
}

TEST(DiscordGatewayProtocolTest, FirstBeatIsIntervalTimesTheRandomFraction) {
  DiscordGatewayOptions o = options();
  o.unit_random = [] { return 0.0; };
  DiscordGatewayProtocol protocol(o);
  (void)protocol.on_connected(kToken);
  const auto actions = protocol.on_frame(R"({"op":10,"d":{"heartbeat_interval":1000}})");
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(std::get<StartHeartbeat>(actions[0]).first_delay, milliseconds(0));
}

TEST(DiscordGatewayProtocolTest, HelloWithARestoredSessionResumes) {
  DiscordGatewayProtocol protocol(options());
  protocol.restore(GatewaySession{kSessionId, 1337, kResumeUrl, kBotId});
  (void)protocol.on_connected(kToken);
  const auto actions = protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<StartHeartbeat>(actions[0]));
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text),
            json::parse(R"({"op":6,"d":{"token":")" + kToken + R"(","session_id":")" + kSessionId +
                        R"(","seq":1337}})"));
}

TEST(DiscordGatewayProtocolTest, HelloWithoutAnIntervalAsksForANewConnection) {
  DiscordGatewayProtocol protocol(options());
  (void)protocol.on_connected(kToken);
  const auto reconnect = only<Reconnect>(protocol.on_frame(R"({"op":10,"d":{}})"));
  EXPECT_FALSE(reconnect.resume);  // nothing to resume yet
}

// --- Dispatch and session ------------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, ReadySavesTheSession) {
  DiscordGatewayProtocol protocol(options());
  (void)protocol.on_connected(kToken);
  (void)protocol.on_frame(frame("hello.json"));
  const auto saved = only<SaveSession>(protocol.on_frame(frame("ready.json")));
  EXPECT_EQ(saved.session, (GatewaySession{kSessionId, 1, kResumeUrl, kBotId}));
  EXPECT_EQ(protocol.session(), saved.session);
}

TEST(DiscordGatewayProtocolTest, ResumedSavesTheSessionWithItsSequence) {
  DiscordGatewayProtocol protocol(options());
  protocol.restore(GatewaySession{kSessionId, 40, kResumeUrl, kBotId});
  (void)protocol.on_connected(kToken);
  (void)protocol.on_frame(frame("hello.json"));
  const auto saved = only<SaveSession>(protocol.on_frame(frame("resumed.json")));
  EXPECT_EQ(saved.session, (GatewaySession{kSessionId, 43, kResumeUrl, kBotId}));
}

TEST(DiscordGatewayProtocolTest, EveryDispatchMovesTheSequenceAndNullDoesNot) {
  Ready r;
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":7,"t":"GUILD_CREATE","d":{"id":"1"}})").empty());
  EXPECT_EQ(r.protocol.session().sequence, 7);
  EXPECT_TRUE(r.protocol.on_frame(frame("heartbeat_ack.json")).empty());
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":null,"t":"TYPING_START","d":{}})").empty());
  EXPECT_EQ(r.protocol.session().sequence, 7);
}

// --- Heartbeats ------------------------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, HeartbeatCarriesNullBeforeTheFirstDispatch) {
  DiscordGatewayProtocol protocol(options());
  (void)protocol.on_connected(kToken);
  (void)protocol.on_frame(frame("hello.json"));
  EXPECT_EQ(sent_json(protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":null})"));
}

TEST(DiscordGatewayProtocolTest, HeartbeatCarriesTheLastSequence) {
  Ready r;
  EXPECT_EQ(sent_json(r.protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":1})"));
  (void)r.protocol.on_frame(frame("heartbeat_ack.json"));
  (void)r.protocol.on_frame(frame("message_create_guild.json"));  // s 12
  EXPECT_EQ(sent_json(r.protocol.on_heartbeat_due()), json::parse(R"({"op":1,"d":12})"));
}

TEST(DiscordGatewayProtocolTest, AcknowledgedBeatsKeepGoing) {
  Ready r;
  for (int i = 0; i < 3; ++i) {
    (void)only<SendFrame>(r.protocol.on_heartbeat_due());
    EXPECT_TRUE(r.protocol.on_frame(frame("heartbeat_ack.json")).empty());
  }
}

TEST(DiscordGatewayProtocolTest, AMissingAckIsAZombieThatResumes) {
  Ready r;
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
  const auto reconnect = only<Reconnect>(r.protocol.on_heartbeat_due());
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(reconnect.url, kResumeUrl);
  EXPECT_NE(reconnect.reason.find("zombie"), std::string::npos);
  // The connection is over: nothing more for it, and its close is not reported twice.
  EXPECT_TRUE(r.protocol.on_heartbeat_due().empty());
  EXPECT_TRUE(r.protocol.on_frame(frame("message_create_guild.json")).empty());
  EXPECT_TRUE(r.protocol.on_closed(4000).empty());
  EXPECT_EQ(r.protocol.session().sequence, 1);  // ignored frames will be replayed by the resume
  // The next connection starts clean and resumes.
  EXPECT_TRUE(r.protocol.on_connected(kToken).empty());
  const auto actions = r.protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 6);
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
}

TEST(DiscordGatewayProtocolTest, AZombieWithoutASessionReconnectsToIdentify) {
  DiscordGatewayProtocol protocol(options());
  (void)protocol.on_connected(kToken);
  (void)protocol.on_frame(frame("hello.json"));
  (void)only<SendFrame>(protocol.on_heartbeat_due());
  const auto reconnect = only<Reconnect>(protocol.on_heartbeat_due());
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
}

TEST(DiscordGatewayProtocolTest, AServerHeartbeatRequestIsAnsweredAtOnce) {
  Ready r;
  (void)only<SendFrame>(r.protocol.on_heartbeat_due());
  EXPECT_EQ(sent_json(r.protocol.on_frame(R"({"op":1,"d":null})")),
            json::parse(R"({"op":1,"d":1})"));
  // The answer does not count as the ACK of the timer's beat.
  (void)only<Reconnect>(r.protocol.on_heartbeat_due());
}

// --- op 7, op 9 --------------------------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, ReconnectRequestResumesOnTheResumeUrl) {
  Ready r;
  const auto reconnect = only<Reconnect>(r.protocol.on_frame(frame("reconnect.json")));
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(reconnect.url, kResumeUrl);
  EXPECT_EQ(reconnect.delay, milliseconds(0));
  EXPECT_TRUE(r.protocol.session().resumable());
}

TEST(DiscordGatewayProtocolTest, ResumableInvalidSessionResumes) {
  Ready r;
  const auto reconnect =
      only<Reconnect>(r.protocol.on_frame(frame("invalid_session_resumable.json")));
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(reconnect.url, kResumeUrl);
  EXPECT_EQ(r.protocol.session().session_id, kSessionId);
}

TEST(DiscordGatewayProtocolTest, InvalidSessionClearsItAndIdentifiesAfterOneToFiveSeconds) {
  Ready r;
  const auto reconnect = only<Reconnect>(r.protocol.on_frame(frame("invalid_session.json")));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
  EXPECT_EQ(reconnect.delay, milliseconds(3000));  // 1 s + 4 s x 0.5
  const GatewaySession session = r.protocol.session();
  EXPECT_FALSE(session.resumable());
  EXPECT_EQ(session.sequence, 0);
  EXPECT_TRUE(session.resume_url.empty());
  EXPECT_EQ(session.user_id, kBotId);  // still the same bot
  (void)r.protocol.on_connected(kToken);
  const auto actions = r.protocol.on_frame(frame("hello.json"));
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 2);
}

TEST(DiscordGatewayProtocolTest, InvalidSessionDelayStaysWithinOneToFiveSeconds) {
  for (const double fraction : {0.0, 0.999999}) {
    DiscordGatewayOptions o = options();
    o.unit_random = [fraction] { return fraction; };
    DiscordGatewayProtocol protocol(o);
    (void)protocol.on_connected(kToken);
    const auto delay = only<Reconnect>(protocol.on_frame(frame("invalid_session.json"))).delay;
    EXPECT_GE(delay, milliseconds(1000));
    EXPECT_LT(delay, milliseconds(5000));
  }
}

// --- Close codes -------------------------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, FatalCloseCodesStopWithWhatToFix) {
  const std::vector<std::pair<int, std::string>> fatal{
      {4004, "token"}, {4010, "shard_count"}, {4011, "shard_count"},
      {4012, "v10"},   {4013, "intents"},     {4014, "Message Content Intent"},
  };
  for (const auto& [code, hint] : fatal) {
    Ready r;
    const auto stop = only<Fatal>(r.protocol.on_closed(code));
    EXPECT_NE(stop.reason.find(std::to_string(code)), std::string::npos) << stop.reason;
    EXPECT_NE(stop.reason.find(hint), std::string::npos) << stop.reason;
    EXPECT_EQ(stop.reason.find(kToken), std::string::npos) << "the token leaked into the reason";
  }
}

TEST(DiscordGatewayProtocolTest, DisallowedIntentsNameEachPrivilegedIntentRequested) {
  DiscordGatewayOptions o = options();
  o.intents = discord_intents_from_names({"guilds", "guild_members", "guild_presences"});
  DiscordGatewayProtocol protocol(o);
  (void)protocol.on_connected(kToken);
  const auto stop = only<Fatal>(protocol.on_closed(4014));
  EXPECT_NE(stop.reason.find("Server Members Intent"), std::string::npos) << stop.reason;
  EXPECT_NE(stop.reason.find("Presence Intent"), std::string::npos) << stop.reason;
  EXPECT_EQ(stop.reason.find("Message Content"), std::string::npos) << stop.reason;
  EXPECT_NE(stop.reason.find("Developer Portal"), std::string::npos) << stop.reason;
}

TEST(DiscordGatewayProtocolTest, SessionEndingCloseCodesIdentifyAfresh) {
  for (const int code : {4006, 4007, 4009}) {
    Ready r;
    const auto reconnect = only<Reconnect>(r.protocol.on_closed(code));
    EXPECT_FALSE(reconnect.resume) << code;
    EXPECT_TRUE(reconnect.url.empty()) << code;
    EXPECT_FALSE(r.protocol.session().resumable()) << code;
  }
}

TEST(DiscordGatewayProtocolTest, OtherClosesResume) {
  for (const int code : {kNoCloseCode, 1000, 1001, 1006, 4000, 4001, 4002, 4003, 4005, 4008}) {
    Ready r;
    const auto reconnect = only<Reconnect>(r.protocol.on_closed(code));
    EXPECT_TRUE(reconnect.resume) << code;
    EXPECT_EQ(reconnect.url, kResumeUrl) << code;
    EXPECT_EQ(r.protocol.session().session_id, kSessionId) << code;
  }
}

TEST(DiscordGatewayProtocolTest, ACloseBeforeReadyReconnectsToIdentify) {
  DiscordGatewayProtocol protocol(options());
  (void)protocol.on_connected(kToken);
  const auto reconnect = only<Reconnect>(protocol.on_closed(4000));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
}

// --- Frames that are not for us ---------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, AMalformedFrameIsSkippedAndTheConnectionGoesOn) {
  // A resume would replay the same frame after the last sequence, and resume again, forever.
  for (const std::string_view bad : {"not json", "[1,2]", R"({"d":null})", R"({"op":"x"})"}) {
    Ready r;
    const auto skip = only<SkipFrame>(r.protocol.on_frame(bad));
    EXPECT_FALSE(skip.reason.empty()) << bad;
    EXPECT_EQ(skip.reason.find(bad), std::string::npos) << "the frame's content stays out";
    const Event event = message_event(r.protocol, frame("message_create_dm.json"));
    EXPECT_FALSE(event.platform_event_id.empty()) << bad;
  }
}

TEST(DiscordGatewayProtocolTest, ASkippedFrameWithASequenceMovesTheSession) {
  Ready r;
  (void)only<SkipFrame>(r.protocol.on_frame(R"({"op":"x","s":9,"t":"MESSAGE_CREATE"})"));
  EXPECT_EQ(r.protocol.session().sequence, 9);
}

TEST(DiscordGatewayProtocolTest, UnknownOpcodesAndEventsAreIgnored) {
  Ready r;
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":42,"d":{}})").empty());
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":2,"t":"PRESENCE_UPDATE","d":{}})").empty());
  EXPECT_EQ(r.protocol.session().sequence, 2);
}

// --- MESSAGE_CREATE ------------------------------------------------------------------------------

TEST(DiscordGatewayProtocolTest, GuildMessageMentioningTheBot) {
  Ready r;
  const Event event = message_event(r.protocol, frame("message_create_guild.json"));
  EXPECT_EQ(event.platform, "discord");
  EXPECT_EQ(event.bot, "discord-bot");
  EXPECT_EQ(event.platform_event_id, "1234567890123456789");
  EXPECT_EQ(event.chat, (Chat{"645027906669510667", ChatType::channel, "290926798626357999"}));
  EXPECT_EQ(event.sender, (User{"53908232506183680", "mason", false}));
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->id, "1234567890123456789");
  EXPECT_EQ(event.message->text, "what is the weather?");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments,
            (std::vector<Segment>{Mention{kBotId, "botgate"}, Text{"what is the weather?"}}));
  // The snowflake's timestamp: (id >> 22) + the Discord epoch.
  const auto ms = std::chrono::duration_cast<milliseconds>(event.time.time_since_epoch());
  EXPECT_EQ(ms.count(), (1234567890123456789LL >> 22) + 1420070400000LL);
  EXPECT_EQ(r.protocol.session().sequence, 12);
}

TEST(DiscordGatewayProtocolTest, DirectMessageIsPrivateAndForTheBot) {
  Ready r;
  const Event event = message_event(r.protocol, frame("message_create_dm.json"));
  EXPECT_EQ(event.chat, (Chat{"319674150115610528", ChatType::private_chat, std::nullopt}));
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "hello there");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments, (std::vector<Segment>{Text{"hello there"}}));
  EXPECT_FALSE(event.sender.is_bot);
}

TEST(DiscordGatewayProtocolTest, TheBotsOwnMessageIsNotAnEvent) {
  Ready r;
  // Its sequence still counts: a resume goes on after it.
  EXPECT_TRUE(r.protocol.on_frame(frame("message_create_own.json")).empty());
  EXPECT_GT(r.protocol.session().sequence, 0);
  const auto before = r.protocol.session().sequence;
  EXPECT_TRUE(r.protocol.on_frame(R"({"op":0,"s":40,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","type":0,"content":"hi","mentions":[],
      "author":{"id":"111111111111111111","username":"botgate"}}})").empty())
      << "without the bot flag too";
  EXPECT_EQ(r.protocol.session().sequence, 40);
  EXPECT_NE(before, 40);
}

TEST(DiscordGatewayProtocolTest, OtherBotsAreMarked) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","type":0,"content":"hi","mentions":[],
      "author":{"id":"222","username":"otherbot","bot":true}}})");
  EXPECT_TRUE(event.sender.is_bot);
}

TEST(DiscordGatewayProtocolTest, NicknameMentionFormIsStrippedToo) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":0,
      "content":"ping <@!111111111111111111> now","mentions":[],
      "author":{"id":"7","username":"mason"}}})");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "ping now");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments,
            (std::vector<Segment>{Text{"ping "}, Mention{kBotId, ""}, Text{"now"}}));
}

TEST(DiscordGatewayProtocolTest, OtherMentionsReadAsAtName) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":0,
      "content":"thanks <@42> and <@43>, <@ not a mention","author":{"id":"7","username":"mason"},
      "mentions":[{"id":"42","username":"alice"}]}})");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "thanks @alice and @43, <@ not a mention");
  EXPECT_FALSE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments,
            (std::vector<Segment>{Text{"thanks "}, Mention{"42", "alice"}, Text{" and "},
                                  Mention{"43", ""}, Text{", <@ not a mention"}}));
}

TEST(DiscordGatewayProtocolTest, GuildMessageWithoutAMentionIsNotForTheBot) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":0,"content":"!help","mentions":[],
      "author":{"id":"7","username":"mason"}}})");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "!help");
  EXPECT_FALSE(event.message->mentions_bot);
}

TEST(DiscordGatewayProtocolTest, AReplyToTheBotIsForTheBot) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":19,"content":"and tomorrow?","mentions":[],
      "author":{"id":"7","username":"mason"},
      "referenced_message":{"id":"4",
                            "author":{"id":"111111111111111111","username":"botgate"}}}})");
  ASSERT_TRUE(event.message);
  EXPECT_TRUE(event.message->mentions_bot);
}

TEST(DiscordGatewayProtocolTest, MentionsArrayAloneMarksTheBotMentioned) {
  // Without MESSAGE_CONTENT a guild message's content may be empty, but mentions still say it.
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":0,"content":"",
      "mentions":[{"id":"111111111111111111","username":"botgate"}],
      "author":{"id":"7","username":"mason"}}})");
  ASSERT_TRUE(event.message);
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_TRUE(event.message->segments.empty());
}

TEST(DiscordGatewayProtocolTest, ImageAttachmentsBecomeImageSegments) {
  Ready r;
  const Event event = message_event(r.protocol, R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","type":0,"content":"look","mentions":[],
      "author":{"id":"7","username":"mason"},
      "attachments":[{"id":"1","filename":"a.png","content_type":"image/png",
                      "url":"https://cdn.discordapp.com/attachments/9/1/a.png"},
                     {"id":"2","filename":"b.txt","content_type":"text/plain","url":"x"}]}})");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->segments,
            (std::vector<Segment>{Text{"look"},
                                  Image{"https://cdn.discordapp.com/attachments/9/1/a.png"}}));
}

TEST(DiscordGatewayProtocolTest, SystemMessagesAreNotEvents) {
  Ready r;
  EXPECT_TRUE(r.protocol
                  .on_frame(R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{
      "id":"5","channel_id":"9","guild_id":"8","type":7,"content":"",
      "author":{"id":"7","username":"mason"}}})")
                  .empty());
  EXPECT_EQ(r.protocol.session().sequence, 3);
}

TEST(DiscordGatewayProtocolTest, BotIdFromOptionsWorksBeforeReady) {
  DiscordGatewayOptions o = options();
  o.bot_user_id = kBotId;
  DiscordGatewayProtocol protocol(o);
  (void)protocol.on_connected(kToken);
  const Event event = message_event(protocol, frame("message_create_guild.json"));
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "what is the weather?");
}

TEST(DiscordGatewayProtocolTest, RestoredSessionKeepsTheBotIdForMentions) {
  DiscordGatewayProtocol protocol(options());
  protocol.restore(GatewaySession{kSessionId, 11, kResumeUrl, kBotId});
  (void)protocol.on_connected(kToken);
  (void)protocol.on_frame(frame("hello.json"));
  (void)only<SaveSession>(protocol.on_frame(frame("resumed.json")));
  const Event event = message_event(protocol, frame("message_create_guild.json"));
  ASSERT_TRUE(event.message);
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->text, "what is the weather?");
}

}  // namespace
}  // namespace botgate::discord
