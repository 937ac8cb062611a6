#include "botgate/platforms/common/gateway_dialect.hpp"

#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace botgate::platforms {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

// The dialect on its own, through a made-up platform ("Fake"): identify carries only the token,
// closes 4100 stop, 4200 identify, 4300 identify with a new credential, the rest resume; every
// "NOTE" dispatch is an event whose text is `d.text`.

const std::string kCredential = "secret-credential";
const std::string kSessionId = "session-1";
const std::string kResumeUrl = "wss://resume.example";
const std::string kBotId = "42";

const std::string kHello = R"({"op":10,"d":{"heartbeat_interval":40000}})";
const std::string kReady =
    R"({"op":0,"s":1,"t":"READY","d":{"session_id":"session-1",
        "resume_gateway_url":"wss://resume.example","user":{"id":"42"}}})";
const std::string kAck = R"({"op":11})";

/// What the dialect handed to the fake's hooks.
struct Calls {
  std::vector<std::string> dispatch_types;
  std::string last_dispatch_id;
  std::string last_bot_user_id;
};

class FakeHooks final : public GatewayDialectHooks {
 public:
  explicit FakeHooks(Calls& calls) : calls_(calls) {}

  json::object identify_data(const std::string& credential) const override {
    return json::object{{"token", credential}, {"fake", true}};
  }
  CloseVerdict close_verdict(int close_code) const override {
    switch (close_code) {
      case 4100:
        return CloseVerdict::fatal;
      case 4200:
        return CloseVerdict::identify;
      case 4300:
        return CloseVerdict::identify_with_new_credential;
      default:
        return CloseVerdict::resume;
    }
  }
  std::string fatal_reason(int close_code) const override {
    return "fake stop " + std::to_string(close_code);
  }
  std::optional<Event> event_from_dispatch(const GatewayDispatch& dispatch) const override {
    calls_.dispatch_types.emplace_back(dispatch.type);
    calls_.last_dispatch_id = std::string(dispatch.id);
    calls_.last_bot_user_id = dispatch.bot_user_id;
    if (dispatch.type != "NOTE") {
      return std::nullopt;
    }
    Event event;
    event.platform = "fake";
    event.platform_event_id = string_at(dispatch.data, "id");
    Message message;
    message.text = string_at(dispatch.data, "text");
    event.message = std::move(message);
    return event;
  }

 private:
  Calls& calls_;
};

GatewayDialectOptions options(bool resume_url_in_ready = true) {
  GatewayDialectOptions o;
  o.platform_label = "Fake";
  o.resume_url_in_ready = resume_url_in_ready;
  o.unit_random = [] { return 0.25; };
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

/// A dialect of the fake platform; `ready()` connects, identifies and sees READY (s 1).
struct Fixture {
  Calls calls;
  GatewayDialect dialect;

  explicit Fixture(GatewayDialectOptions o = options())
      : dialect(std::move(o), std::make_unique<FakeHooks>(calls)) {}

  Fixture& ready() {
    EXPECT_TRUE(dialect.on_connected(kCredential).empty());
    EXPECT_EQ(dialect.on_frame(kHello).size(), 2U);
    (void)only<SaveSession>(dialect.on_frame(kReady));
    return *this;
  }
};

GatewaySession live_session(std::int64_t sequence) {
  return GatewaySession{kSessionId, sequence, kResumeUrl, kBotId};
}

// --- Hello, identify, resume ----------------------------------------------------------------

TEST(GatewayDialectTest, HelloStartsAJitteredHeartbeatAndSendsTheHooksIdentify) {
  Fixture f;
  EXPECT_TRUE(f.dialect.on_connected(kCredential).empty());  // the server speaks first
  const auto actions = f.dialect.on_frame(kHello);
  ASSERT_EQ(actions.size(), 2U);
  ASSERT_TRUE(std::holds_alternative<StartHeartbeat>(actions[0]));
  EXPECT_EQ(std::get<StartHeartbeat>(actions[0]),
            (StartHeartbeat{milliseconds(40000), milliseconds(10000)}));  // 40 s x 0.25
  ASSERT_TRUE(std::holds_alternative<SendFrame>(actions[1]));
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text),
            json::parse(R"({"op":2,"d":{"token":"secret-credential","fake":true}})"));
}

TEST(GatewayDialectTest, HelloWithASessionResumesWithTheNewConnectionsCredential) {
  Fixture f;
  f.dialect.restore(live_session(77));
  (void)f.dialect.on_connected("fresh-credential");
  const auto actions = f.dialect.on_frame(kHello);
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text),
            json::parse(R"({"op":6,"d":{"token":"fresh-credential","session_id":"session-1",
                            "seq":77}})"));
}

TEST(GatewayDialectTest, HelloWithoutAUsableIntervalEndsTheConnection) {
  for (const std::string bad : {R"({"op":10,"d":{}})", R"({"op":10,"d":{"heartbeat_interval":0}})",
                                R"({"op":10,"d":null})"}) {
    Fixture f;
    (void)f.dialect.on_connected(kCredential);
    const auto reconnect = only<Reconnect>(f.dialect.on_frame(bad));
    EXPECT_FALSE(reconnect.resume) << bad;  // nothing to resume yet
    EXPECT_TRUE(f.dialect.on_heartbeat_due().empty()) << bad;
  }
}

// --- Session ------------------------------------------------------------------------------------

TEST(GatewayDialectTest, ReadySavesSessionResumeUrlAndBotId) {
  Fixture f;
  (void)f.dialect.on_connected(kCredential);
  (void)f.dialect.on_frame(kHello);
  const auto saved = only<SaveSession>(f.dialect.on_frame(kReady));
  EXPECT_EQ(saved.session, live_session(1));
  EXPECT_EQ(f.dialect.session(), saved.session);
}

TEST(GatewayDialectTest, WithoutResumeUrlsReadysUrlAndARestoredOneAreDropped) {
  Fixture f(options(false));
  f.ready();
  EXPECT_EQ(f.dialect.session(), (GatewaySession{kSessionId, 1, "", kBotId}));
  f.dialect.restore(live_session(5));
  EXPECT_EQ(f.dialect.session(), (GatewaySession{kSessionId, 5, "", kBotId}));
  EXPECT_TRUE(only<Reconnect>(f.dialect.on_closed(1000)).url.empty());
}

TEST(GatewayDialectTest, AKnownBotIdFillsInUntilReadyAndAfterARestoreWithoutOne) {
  GatewayDialectOptions o = options();
  o.bot_user_id = "known";
  Fixture f(o);
  EXPECT_EQ(f.dialect.session().user_id, "known");
  f.dialect.restore(GatewaySession{kSessionId, 3, kResumeUrl, ""});
  EXPECT_EQ(f.dialect.session().user_id, "known");
  f.dialect.restore(live_session(3));
  EXPECT_EQ(f.dialect.session().user_id, kBotId);
  f.ready();
  EXPECT_EQ(f.dialect.session().user_id, kBotId);
}

TEST(GatewayDialectTest, ResumedSavesTheSessionWithItsSequence) {
  Fixture f;
  f.dialect.restore(live_session(40));
  (void)f.dialect.on_connected(kCredential);
  (void)f.dialect.on_frame(kHello);
  const auto saved =
      only<SaveSession>(f.dialect.on_frame(R"({"op":0,"s":44,"t":"RESUMED","d":""})"));
  EXPECT_EQ(saved.session, live_session(44));
}

TEST(GatewayDialectTest, EveryDispatchMovesTheSequenceButNullAndZeroDoNot) {
  Fixture f;
  f.ready();
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":7,"t":"OTHER","d":{}})").empty());
  EXPECT_EQ(f.dialect.session().sequence, 7);
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":null,"t":"OTHER","d":{}})").empty());
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":0,"t":"OTHER","d":{}})").empty());
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"t":"OTHER","d":{}})").empty());
  EXPECT_EQ(f.dialect.session().sequence, 7);
}

// --- Dispatches ---------------------------------------------------------------------------------

TEST(GatewayDialectTest, ADispatchBecomesTheHooksEvent) {
  Fixture f;
  f.ready();
  const auto emitted = only<EmitEvent>(
      f.dialect.on_frame(R"({"op":0,"s":2,"id":"ev-9","t":"NOTE","d":{"id":"n1","text":"hi"}})"));
  EXPECT_EQ(emitted.event.platform_event_id, "n1");
  ASSERT_TRUE(emitted.event.message);
  EXPECT_EQ(emitted.event.message->text, "hi");
  EXPECT_EQ(f.calls.last_dispatch_id, "ev-9");
  EXPECT_EQ(f.calls.last_bot_user_id, kBotId);
  EXPECT_EQ(f.dialect.session().sequence, 2);
}

TEST(GatewayDialectTest, ReadyResumedAndDispatchesWithoutAnObjectNeverReachTheHook) {
  Fixture f;
  f.ready();
  (void)only<SaveSession>(f.dialect.on_frame(R"({"op":0,"s":2,"t":"RESUMED","d":{}})"));
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":3,"t":"NOTE","d":"text"})").empty());
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":4,"t":"NOTE"})").empty());
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":5,"t":"OTHER","d":{}})").empty());
  EXPECT_EQ(f.calls.dispatch_types, std::vector<std::string>{"OTHER"});
  EXPECT_TRUE(f.calls.last_dispatch_id.empty());
  EXPECT_EQ(f.dialect.session().sequence, 5);
}

// --- Heartbeats ---------------------------------------------------------------------------------

TEST(GatewayDialectTest, HeartbeatsCarryTheLastSequenceOrNull) {
  Fixture f;
  (void)f.dialect.on_connected(kCredential);
  (void)f.dialect.on_frame(kHello);
  EXPECT_EQ(sent_json(f.dialect.on_heartbeat_due()), json::parse(R"({"op":1,"d":null})"));
  (void)f.dialect.on_frame(kAck);
  (void)f.dialect.on_frame(kReady);
  EXPECT_EQ(sent_json(f.dialect.on_heartbeat_due()), json::parse(R"({"op":1,"d":1})"));
}

TEST(GatewayDialectTest, AcknowledgedBeatsKeepGoing) {
  Fixture f;
  f.ready();
  for (int i = 0; i < 3; ++i) {
    (void)only<SendFrame>(f.dialect.on_heartbeat_due());
    EXPECT_TRUE(f.dialect.on_frame(kAck).empty());
  }
}

TEST(GatewayDialectTest, ABeatWithoutAnAckSinceThePreviousIsAZombieThatResumes) {
  Fixture f;
  f.ready();
  (void)only<SendFrame>(f.dialect.on_heartbeat_due());
  const auto reconnect = only<Reconnect>(f.dialect.on_heartbeat_due());
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(reconnect.url, kResumeUrl);
  EXPECT_NE(reconnect.reason.find("zombie"), std::string::npos);
  // The connection is over: nothing more for it, its close is not reported twice, and frames
  // that arrive late do not move the sequence (the resume replays them).
  EXPECT_TRUE(f.dialect.on_heartbeat_due().empty());
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":0,"s":9,"t":"NOTE","d":{"id":"x"}})").empty());
  EXPECT_TRUE(f.dialect.on_frame("not json").empty());
  EXPECT_TRUE(f.dialect.on_closed(4100).empty());
  EXPECT_EQ(f.dialect.session().sequence, 1);
  // The next connection starts clean: no beat is owed an ACK.
  (void)f.dialect.on_connected(kCredential);
  const auto actions = f.dialect.on_frame(kHello);
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 6);
  (void)only<SendFrame>(f.dialect.on_heartbeat_due());
}

TEST(GatewayDialectTest, AZombieWithoutASessionReconnectsToIdentify) {
  Fixture f;
  (void)f.dialect.on_connected(kCredential);
  (void)f.dialect.on_frame(kHello);
  (void)only<SendFrame>(f.dialect.on_heartbeat_due());
  const auto reconnect = only<Reconnect>(f.dialect.on_heartbeat_due());
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
}

TEST(GatewayDialectTest, AServerHeartbeatRequestIsAnsweredButIsNoAck) {
  Fixture f;
  f.ready();
  (void)only<SendFrame>(f.dialect.on_heartbeat_due());
  EXPECT_EQ(sent_json(f.dialect.on_frame(R"({"op":1,"d":null})")),
            json::parse(R"({"op":1,"d":1})"));
  (void)only<Reconnect>(f.dialect.on_heartbeat_due());
}

// --- op 7, op 9 ---------------------------------------------------------------------------------

TEST(GatewayDialectTest, ReconnectRequestResumesOnTheResumeUrl) {
  Fixture f;
  f.ready();
  const auto reconnect = only<Reconnect>(f.dialect.on_frame(R"({"op":7,"d":null})"));
  EXPECT_EQ(reconnect, (Reconnect{true, "Fake asked to reconnect (op 7)", kResumeUrl}));
  EXPECT_EQ(f.dialect.session(), live_session(1));
}

TEST(GatewayDialectTest, ResumableInvalidSessionResumes) {
  Fixture f;
  f.ready();
  const auto reconnect = only<Reconnect>(f.dialect.on_frame(R"({"op":9,"d":true})"));
  EXPECT_TRUE(reconnect.resume);
  EXPECT_EQ(reconnect.url, kResumeUrl);
  EXPECT_EQ(reconnect.delay, milliseconds(0));
  EXPECT_EQ(f.dialect.session(), live_session(1));
}

TEST(GatewayDialectTest, InvalidSessionForgetsItAndIdentifiesAfterOneToFiveSeconds) {
  Fixture f;
  f.ready();
  const auto reconnect = only<Reconnect>(f.dialect.on_frame(R"({"op":9,"d":false})"));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
  EXPECT_EQ(reconnect.delay, milliseconds(2000));  // 1 s + 4 s x 0.25
  EXPECT_FALSE(reconnect.credential_rejected);
  EXPECT_EQ(f.dialect.session(), (GatewaySession{"", 0, "", kBotId}));  // still the same bot
  (void)f.dialect.on_connected(kCredential);
  const auto actions = f.dialect.on_frame(kHello);
  ASSERT_EQ(actions.size(), 2U);
  EXPECT_EQ(json::parse(std::get<SendFrame>(actions[1]).text).at("op"), 2);
}

TEST(GatewayDialectTest, AResumableInvalidSessionWithoutASessionIdentifies) {
  Fixture f;
  (void)f.dialect.on_connected(kCredential);
  const auto reconnect = only<Reconnect>(f.dialect.on_frame(R"({"op":9,"d":true})"));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_GE(reconnect.delay, milliseconds(1000));
}

TEST(GatewayDialectTest, InvalidSessionDelayStaysWithinOneToFiveSeconds) {
  for (const double fraction : {0.0, 0.999999}) {
    GatewayDialectOptions o = options();
    o.unit_random = [fraction] { return fraction; };
    Fixture f(o);
    (void)f.dialect.on_connected(kCredential);
    const auto delay = only<Reconnect>(f.dialect.on_frame(R"({"op":9,"d":false})")).delay;
    EXPECT_GE(delay, milliseconds(1000));
    EXPECT_LT(delay, milliseconds(5000));
  }
}

// --- Closes -------------------------------------------------------------------------------------

TEST(GatewayDialectTest, AFatalVerdictStopsWithTheHooksReason) {
  Fixture f;
  f.ready();
  EXPECT_EQ(only<Fatal>(f.dialect.on_closed(4100)).reason, "fake stop 4100");
  EXPECT_TRUE(f.dialect.on_closed(4100).empty());
  EXPECT_EQ(f.dialect.session(), live_session(1));  // a fixed setting may resume it
}

TEST(GatewayDialectTest, IdentifyVerdictsForgetTheSession) {
  for (const int code : {4200, 4300}) {
    Fixture f;
    f.ready();
    const auto reconnect = only<Reconnect>(f.dialect.on_closed(code));
    EXPECT_FALSE(reconnect.resume) << code;
    EXPECT_TRUE(reconnect.url.empty()) << code;
    EXPECT_EQ(reconnect.delay, milliseconds(0)) << code;
    EXPECT_EQ(reconnect.reason, "Fake ended the session (close code " + std::to_string(code) + ")");
    // Only the verdict that says so asks for a new credential.
    EXPECT_EQ(reconnect.credential_rejected, code == 4300) << code;
    EXPECT_EQ(f.dialect.session(), (GatewaySession{"", 0, "", kBotId})) << code;
  }
}

TEST(GatewayDialectTest, ResumeVerdictsAndLostConnectionsResume) {
  for (const int code : {kNoCloseCode, 1000, 1006, 4000}) {
    Fixture f;
    f.ready();
    const auto reconnect = only<Reconnect>(f.dialect.on_closed(code));
    EXPECT_TRUE(reconnect.resume) << code;
    EXPECT_EQ(reconnect.url, kResumeUrl) << code;
    EXPECT_FALSE(reconnect.credential_rejected) << code;
    const std::string reason = code == kNoCloseCode ? "connection lost without a close frame"
                                                    : "Fake closed the connection (close code " +
                                                          std::to_string(code) + ")";
    EXPECT_EQ(reconnect.reason, reason) << code;
    EXPECT_EQ(f.dialect.session(), live_session(1)) << code;
  }
}

TEST(GatewayDialectTest, ACloseBeforeReadyReconnectsToIdentify) {
  Fixture f;
  (void)f.dialect.on_connected(kCredential);
  const auto reconnect = only<Reconnect>(f.dialect.on_closed(1000));
  EXPECT_FALSE(reconnect.resume);
  EXPECT_TRUE(reconnect.url.empty());
}

// --- Frames that are not understood ------------------------------------------------------------

TEST(GatewayDialectTest, AFrameThatDoesNotParseIsSkippedAndTheConnectionGoesOn) {
  for (const std::string_view bad : {"not json", "[1,2]", R"({"d":null})", R"({"op":"x"})"}) {
    Fixture f;
    f.ready();
    const auto skip = only<SkipFrame>(f.dialect.on_frame(bad));
    EXPECT_FALSE(skip.reason.empty()) << bad;
    EXPECT_EQ(skip.reason.find(bad), std::string::npos) << "the frame's content stays out";
    (void)only<EmitEvent>(f.dialect.on_frame(R"({"op":0,"s":2,"t":"NOTE","d":{"id":"n"}})"));
  }
}

TEST(GatewayDialectTest, ASkippedFrameTakesItsSequenceOnlyForward) {
  Fixture f;
  f.ready();
  (void)only<SkipFrame>(f.dialect.on_frame(R"({"op":"x","s":9})"));
  EXPECT_EQ(f.dialect.session().sequence, 9);
  (void)only<SkipFrame>(f.dialect.on_frame(R"({"op":"x","s":3})"));
  EXPECT_EQ(f.dialect.session().sequence, 9);
}

TEST(GatewayDialectTest, UnknownOpcodesAreIgnored) {
  Fixture f;
  f.ready();
  EXPECT_TRUE(f.dialect.on_frame(R"({"op":42,"s":5,"d":{}})").empty());
  EXPECT_EQ(f.dialect.session().sequence, 1);  // only dispatches carry the sequence
  (void)only<SendFrame>(f.dialect.on_heartbeat_due());
}

}  // namespace
}  // namespace botgate::platforms
