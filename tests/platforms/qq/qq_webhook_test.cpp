#include "botgate/platforms/qq/qq_webhook.hpp"

#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;
using ::botgate::test::acknowledged_without_events;
using ::botgate::test::fails_with;

constexpr const char* kAppId = "102000000";
constexpr const char* kTimestamp = "1725442341";
constexpr const char* kDispatchAck = R"({"op":12,"d":0})";

json::object load_vectors() {
  const std::string path = botgate::test::testdata_path("qq/webhook_vectors.json");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

const json::object& vector(std::string_view name) {
  static const json::object vectors = load_vectors();
  return vectors.at(name).as_object();
}

std::string field(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

QqConfig config_for(std::string secret) {
  QqConfig config;
  config.bot_name = "qq-bot";
  config.app_id = kAppId;
  config.app_secret = std::move(secret);
  config.mode = QqMode::webhook;
  return config;
}

/// A POST as QQ sends it, with the signature headers as given.
HttpRequest post(std::string body, std::string_view timestamp, std::string_view signature_hex) {
  HttpRequest request{http::verb::post, "/webhook/qq-bot", 11};
  request.set(http::field::content_type, "application/json");
  request.set(http::field::user_agent, "QQBot-Callback");
  request.set("X-Bot-Appid", kAppId);
  if (!signature_hex.empty()) request.set("X-Signature-Ed25519", signature_hex);
  if (!timestamp.empty()) request.set("X-Signature-Timestamp", timestamp);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// `body` signed as QQ signs it, with the key of `secret` (notes 3.4).
HttpRequest signed_post(const std::string& secret, std::string body,
                        std::string_view timestamp = kTimestamp) {
  const std::string signature =
      crypto::ed25519_sign(qq_signing_seed(secret), std::string(timestamp) + body);
  return post(std::move(body), timestamp, crypto::to_hex(signature));
}

class QqWebhookTest : public ::testing::Test {
 protected:
  const std::string secret_ = field(vector("event_signature"), "secret");
  QqWebhook webhook_{config_for(secret_)};

  Result<WebhookOutcome> handle_signed(std::string body) const {
    return webhook_.handle(signed_post(secret_, std::move(body)));
  }

  /// The one event a signed dispatch of `t` with `d` yields, acknowledged with op 12.
  Event dispatch_event(std::string_view type, std::string_view d) const {
    const std::string body = std::string(R"({"op":0,"id":")") + std::string(type) +
                             R"(:evt-1","d":)" + std::string(d) + R"(,"t":")" +
                             std::string(type) + R"("})";
    auto outcome = handle_signed(body);
    EXPECT_TRUE(outcome) << outcome.error().message();
    if (!outcome) return {};
    EXPECT_EQ(outcome->ack.result_int(), 200u);
    EXPECT_EQ(outcome->ack.body(), kDispatchAck);
    EXPECT_EQ(outcome->events.size(), 1u);
    return outcome->events.empty() ? Event{} : outcome->events.front();
  }
};

TEST(QqSigningSeedTest, CyclesTheSecretTo32Bytes) {
  for (const char* name : {"callback_validation", "key_derivation", "event_signature"}) {
    const json::object& v = vector(name);
    const std::string seed = qq_signing_seed(field(v, "secret"));
    EXPECT_EQ(seed, field(v, "seed")) << name;
    EXPECT_EQ(crypto::to_hex(crypto::ed25519_public_key_from_seed(seed)),
              field(v, "public_key_hex"))
        << name;
    EXPECT_EQ(crypto::to_hex(QqWebhook(config_for(field(v, "secret"))).public_key()),
              field(v, "public_key_hex"))
        << name;
  }
  EXPECT_EQ(qq_signing_seed(std::string(40, 'x')), std::string(32, 'x'));
  EXPECT_EQ(qq_signing_seed("a"), std::string(32, 'a'));
  EXPECT_THROW((void)qq_signing_seed(""), std::invalid_argument);
  EXPECT_THROW(QqWebhook{config_for("")}, std::invalid_argument);
}

TEST(QqWebhookValidationTest, AnswersTheOfficialExample) {
  const json::object& v = vector("callback_validation");
  const std::string secret = field(v, "secret");
  const QqWebhook webhook(config_for(secret));
  auto outcome = webhook.handle(signed_post(secret, field(v, "body")));
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_TRUE(outcome->events.empty());
  EXPECT_EQ(outcome->ack.result_int(), 200u);
  EXPECT_EQ(outcome->ack[http::field::content_type], "application/json");
  // Exactly the two keys, the signature of V1 in lower-case hex.
  EXPECT_EQ(outcome->ack.body(), R"({"plain_token":")" + field(v, "plain_token") +
                                     R"(","signature":")" + field(v, "signature_hex") + R"("})");
}

TEST(QqWebhookValidationTest, IsSignedLikeEveryOtherCallback) {
  // Notes 3.3: QQ signs op 13 too and the official Go SDK verifies it; so does botgate.
  const json::object& v = vector("callback_validation");
  const QqWebhook webhook(config_for(field(v, "secret")));
  EXPECT_TRUE(fails_with(webhook.handle(post(field(v, "body"), "", "")), errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(webhook.handle(signed_post("another-secret", field(v, "body"))),
                         errc::bad_signature, 401));
}

TEST(QqWebhookValidationTest, NeedsPlainTokenAndEventTs) {
  const std::string secret = field(vector("callback_validation"), "secret");
  const QqWebhook webhook(config_for(secret));
  for (const char* body : {R"({"op":13})", R"({"op":13,"d":{"plain_token":"abc"}})",
                           R"({"op":13,"d":{"event_ts":"1725442341"}})",
                           R"({"op":13,"d":{"plain_token":1,"event_ts":"1"}})"}) {
    EXPECT_TRUE(fails_with(webhook.handle(signed_post(secret, body)), errc::malformed_payload, 400))
        << body;
  }
}

TEST_F(QqWebhookTest, TheGoSdkVectorVerifies) {
  // V3: a bare message object, signed by QQ. It is no op 0 payload, so it only proves the
  // signature check; the body then fails as a payload without op.
  const json::object& v = vector("event_signature");
  const HttpRequest request =
      post(field(v, "body"), field(v, "timestamp"), field(v, "signature_hex"));
  EXPECT_TRUE(fails_with(webhook_.handle(request), errc::malformed_payload, 400));
}

TEST_F(QqWebhookTest, FlippedBytesAreRefusedBeforeParsing) {
  const json::object& v = vector("event_signature");
  const std::string body = field(v, "body");
  const std::string timestamp = field(v, "timestamp");
  const std::string signature = field(v, "signature_hex");

  std::string other_body = body;
  other_body[10] = static_cast<char>(other_body[10] ^ 0x01);
  EXPECT_TRUE(fails_with(webhook_.handle(post(other_body, timestamp, signature)),
                         errc::bad_signature, 401));

  EXPECT_TRUE(fails_with(webhook_.handle(post(body, "1728981196", signature)),
                         errc::bad_signature, 401));

  std::string bytes = *crypto::from_hex(signature);
  bytes[5] = static_cast<char>(bytes[5] ^ 0x80);
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, timestamp, crypto::to_hex(bytes))),
                         errc::bad_signature, 401));

  // Even an unparsable body answers 401, not 400, when the signature is wrong.
  EXPECT_TRUE(fails_with(webhook_.handle(post("not json", timestamp, signature)),
                         errc::bad_signature, 401));
}

TEST_F(QqWebhookTest, MissingOrMalformedHeadersAreRefused) {
  const json::object& v = vector("event_signature");
  const std::string body = field(v, "body");
  const std::string timestamp = field(v, "timestamp");
  const std::string signature = field(v, "signature_hex");

  EXPECT_TRUE(fails_with(webhook_.handle(post(body, "", signature)), errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, timestamp, "")), errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, "17289811x5", signature)),
                         errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, timestamp, signature.substr(0, 126))),
                         errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, timestamp, "zz" + signature.substr(2))),
                         errc::bad_signature, 401));
  // The Go reference's check: the top three bits of the last byte must be clear.
  std::string bytes = *crypto::from_hex(signature);
  bytes[63] = static_cast<char>(bytes[63] | 0xE0);
  EXPECT_TRUE(fails_with(webhook_.handle(post(body, timestamp, crypto::to_hex(bytes))),
                         errc::bad_signature, 401));
  // Two signature headers: which one was checked would be ambiguous.
  HttpRequest twice = post(body, timestamp, signature);
  twice.insert("X-Signature-Ed25519", signature);
  EXPECT_TRUE(fails_with(webhook_.handle(twice), errc::bad_signature, 401));
}

TEST_F(QqWebhookTest, OnlyPostIsAccepted) {
  HttpRequest request = signed_post(secret_, R"({"op":0})");
  request.method(http::verb::get);
  EXPECT_TRUE(fails_with(webhook_.handle(request), errc::malformed_payload, 400));
}

TEST_F(QqWebhookTest, AnotherBotsAppIdIsRefused) {
  HttpRequest request = signed_post(secret_, R"({"op":0,"t":"READY","d":{}})");
  request.set("X-Bot-Appid", "102000001");
  EXPECT_TRUE(fails_with(webhook_.handle(request), errc::bad_token, 401));
  request.erase("X-Bot-Appid");
  EXPECT_TRUE(acknowledged_without_events(webhook_.handle(request)));
}

TEST_F(QqWebhookTest, MalformedBodiesAfterAGoodSignatureAre400) {
  for (const char* body : {"not json", "[1,2]", R"({"d":{}})", R"({"op":"0"})",
                           R"({"op":0,"d":{}})"}) {
    EXPECT_TRUE(fails_with(handle_signed(body), errc::malformed_payload, 400)) << body;
  }
  // A message dispatch the parser cannot read (no author, no id).
  EXPECT_TRUE(fails_with(handle_signed(R"({"op":0,"t":"C2C_MESSAGE_CREATE","d":{}})"),
                         errc::malformed_payload, 400));
  EXPECT_TRUE(fails_with(handle_signed(R"({"op":0,"t":"GROUP_AT_MESSAGE_CREATE","d":3})"),
                         errc::malformed_payload, 400));
}

TEST_F(QqWebhookTest, C2cMessageBecomesAnEvent) {
  const Event event = dispatch_event(
      "C2C_MESSAGE_CREATE",
      R"({"author":{"id":"E4F4AEA33253A2797FB897C50B81D7ED",)"
      R"("user_openid":"E4F4AEA33253A2797FB897C50B81D7ED"},)"
      R"("content":"123","id":"ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!",)"
      R"("timestamp":"2023-11-06T13:37:18+08:00"})");
  EXPECT_EQ(event.platform, "qq");
  EXPECT_EQ(event.bot, "qq-bot");
  EXPECT_EQ(event.platform_event_id, "C2C_MESSAGE_CREATE:evt-1");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.chat.id, "E4F4AEA33253A2797FB897C50B81D7ED");
  EXPECT_EQ(event.sender.id, "E4F4AEA33253A2797FB897C50B81D7ED");
  EXPECT_EQ(event.reply_context, "c2c");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->id, "ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!");
  EXPECT_EQ(event.message->text, "123");
}

TEST_F(QqWebhookTest, GroupAtMessageBecomesAnEvent) {
  // The real capture of notes 3.5 (ids shortened there).
  const Event event = dispatch_event(
      "GROUP_AT_MESSAGE_CREATE",
      R"({"id":"ROBOT1.0_yiT7pd.iSG1ugi2eJZLC-4hjLnBZ!","content":" lssv",)"
      R"("timestamp":"2025-09-08T23:13:34+08:00",)"
      R"("author":{"id":"0BA13D42931777D3922F226B6B5D7F13",)"
      R"("member_openid":"0BA13D42931777D3922F226B6B5D7F13",)"
      R"("union_openid":"0BA13D42931777D3922F226B6B5D7F13"},)"
      R"("group_id":"82B3406CB35C23E1071C8D6EC61C6064",)"
      R"("group_openid":"82B3406CB35C23E1071C8D6EC61C6064",)"
      R"("message_scene":{"source":"default"},"message_type":0})");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.chat.id, "82B3406CB35C23E1071C8D6EC61C6064");
  EXPECT_EQ(event.sender.id, "0BA13D42931777D3922F226B6B5D7F13");
  EXPECT_EQ(event.reply_context, "group");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "lssv");
  EXPECT_TRUE(event.message->mentions_bot);
}

TEST_F(QqWebhookTest, GuildAtMessageBecomesAnEvent) {
  const Event event = dispatch_event(
      "AT_MESSAGE_CREATE",
      R"({"author":{"avatar":"http://thirdqq.qlogo.cn/0","bot":false,"id":"1234",)"
      R"("username":"abc"},)"
      R"("channel_id":"100010","guild_id":"18700000000001","id":"0812345677890abcdef",)"
      R"("content":"<@!6158788878435714165> hello",)"
      R"("mentions":[{"id":"6158788878435714165","username":"bot","bot":true}],)"
      R"("timestamp":"2021-05-20T15:14:58+08:00","seq":101,"seq_in_channel":"101"})");
  EXPECT_EQ(event.chat.type, ChatType::channel);
  EXPECT_EQ(event.chat.id, "100010");
  EXPECT_EQ(event.chat.guild_id, "18700000000001");
  EXPECT_EQ(event.sender.id, "1234");
  EXPECT_EQ(event.sender.name, "abc");
  EXPECT_EQ(event.reply_context, "channel");
  ASSERT_TRUE(event.message);
  // Without the gateway's READY the bot's id is unknown: the leading mention is stripped.
  EXPECT_EQ(event.message->text, "hello");
  EXPECT_TRUE(event.message->mentions_bot);
}

TEST_F(QqWebhookTest, GuildChannelMessageBecomesAnEvent) {
  const Event event = dispatch_event(
      "MESSAGE_CREATE",
      R"({"author":{"id":"1234","username":"abc"},"channel_id":"100010",)"
      R"("guild_id":"18700000000001","id":"m-2","content":"a &lt;b&gt;",)"
      R"("timestamp":"2021-05-20T15:14:58+08:00"})");
  EXPECT_EQ(event.chat.type, ChatType::channel);
  EXPECT_EQ(event.chat.id, "100010");
  EXPECT_EQ(event.reply_context, "channel");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "a <b>");
}

TEST_F(QqWebhookTest, GuildDirectMessageBecomesAnEvent) {
  const Event event = dispatch_event(
      "DIRECT_MESSAGE_CREATE",
      R"({"author":{"id":"1234","username":"abc"},"channel_id":"200020",)"
      R"("guild_id":"9990001","src_guild_id":"18700000000001","direct_message":true,)"
      R"("id":"m-3","content":"hi","timestamp":"2021-05-20T15:14:58+08:00"})");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.chat.id, "9990001");
  EXPECT_EQ(event.reply_context, "dms");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "hi");
}

TEST_F(QqWebhookTest, OtherDispatchesAreAcknowledgedWithoutEvents) {
  for (const char* body :
       {R"({"op":0,"id":"GROUP_ADD_ROBOT:1","t":"GROUP_ADD_ROBOT",)"
        R"("d":{"group_openid":"G","op_member_openid":"M","timestamp":1699240248}})",
        R"({"op":0,"id":"FRIEND_ADD:2","t":"FRIEND_ADD","d":{"openid":"U","timestamp":1}})",
        R"({"op":0,"t":"GATEWAY_EVENT_NAME","d":{}})"}) {
    auto outcome = handle_signed(body);
    EXPECT_TRUE(acknowledged_without_events(outcome)) << body;
    if (outcome) {
      EXPECT_EQ(outcome->ack.body(), kDispatchAck) << body;
    }
  }
}

TEST_F(QqWebhookTest, HeartbeatsAndUnknownOpsAreAnswered) {
  auto heartbeat = handle_signed(R"({"op":1,"d":42})");
  EXPECT_TRUE(acknowledged_without_events(heartbeat));
  if (heartbeat) {
    EXPECT_EQ(heartbeat->ack.body(), R"({"op":11,"d":42})");
  }

  auto unknown = handle_signed(R"({"op":99,"d":{}})");
  EXPECT_TRUE(acknowledged_without_events(unknown));
  if (unknown) {
    EXPECT_EQ(unknown->ack.body(), kDispatchAck);
  }
}

}  // namespace
}  // namespace botgate::qq

namespace botgate::qq {
namespace {

TEST(QqWebhookReplayWindowTest, APushSignedTooLongAgoOrAheadIsStaleAfterItsSignatureChecks) {
  const std::string secret = "DG5g3B4j9X2KOErG";
  const auto signed_at = std::chrono::system_clock::time_point(std::chrono::seconds(1725442341));
  auto clock_at = [signed_at](std::chrono::seconds offset) {
    return [t = signed_at + offset] { return t; };
  };
  const std::string body = R"({"op":0,"id":"x","d":{},"t":"GUILD_CREATE"})";
  auto request = [&] {
    const std::string signature =
        crypto::ed25519_sign(qq_signing_seed(secret), std::string("1725442341") + body);
    HttpRequest r{http::verb::post, "/webhook/qq", 11};
    r.set("X-Signature-Ed25519", crypto::to_hex(signature));
    r.set("X-Signature-Timestamp", "1725442341");
    r.body() = body;
    r.prepare_payload();
    return r;
  };
  QqConfig config;
  config.bot_name = "qq";
  config.app_id = "102000001";
  config.app_secret = secret;

  EXPECT_TRUE(QqWebhook(config, clock_at(std::chrono::seconds(599))).handle(request()));
  EXPECT_TRUE(QqWebhook(config, clock_at(-std::chrono::seconds(599))).handle(request()));
  for (auto offset : {std::chrono::seconds(601), -std::chrono::seconds(601),
                      std::chrono::seconds(86400)}) {
    auto outcome = QqWebhook(config, clock_at(offset)).handle(request());
    ASSERT_FALSE(outcome) << offset.count();
    EXPECT_TRUE(outcome.error().is(errc::stale_request));
    EXPECT_EQ(http_status_for(outcome.error()), 401);
  }
  // A signed time too far off for the clock to hold (19 digits pass the format check) is stale,
  // not an overflow.
  for (const std::string far : {"999999999999999999", "9999999999999999999"}) {
    HttpRequest r = request();
    r.set("X-Signature-Timestamp", far);
    r.set("X-Signature-Ed25519",
          crypto::to_hex(crypto::ed25519_sign(qq_signing_seed(secret), far + body)));
    auto outcome = QqWebhook(config, clock_at(std::chrono::seconds(0))).handle(r);
    ASSERT_FALSE(outcome) << far;
    EXPECT_TRUE(outcome.error().is(errc::stale_request)) << far;
  }
  // A forged push is a bad signature whatever its time.
  HttpRequest forged = request();
  forged.body() = R"({"op":0,"id":"y","d":{},"t":"GUILD_CREATE"})";
  forged.prepare_payload();
  auto outcome = QqWebhook(config, clock_at(std::chrono::seconds(86400))).handle(forged);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::bad_signature));
}

}  // namespace
}  // namespace botgate::qq
