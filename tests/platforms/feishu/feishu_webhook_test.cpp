#include "botgate/platforms/feishu/feishu_webhook.hpp"

#include "botgate/core/webhook_rejection.hpp"
#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

#include "support/platform_test_helpers.hpp"
#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <gtest/gtest.h>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::feishu {
namespace {
namespace json = boost::json;
using ::botgate::test::acknowledged_without_events;
using ::botgate::test::fails_with;

// The values of the sample payloads in tests/testdata/feishu/.
constexpr std::string_view kAppId = "cli_a1b2c3d4e5f6g7h8";
constexpr std::string_view kToken = "v3rif1cat10n";
constexpr std::string_view kBotOpenId = "ou_bot0000000000000000000000000000";
constexpr std::string_view kSenderOpenId = "ou_84aad35d084aa403a838cf73ee18467";
constexpr std::string_view kEncryptKey = "kX9vQ2mB7pL4sT8wZr1N";
constexpr std::string_view kTimestamp = "1700000000";
constexpr std::string_view kNonce = "5f3c2a";

std::string load_testdata(std::string_view name) {
  const std::string path = botgate::test::testdata_path("feishu/" + std::string(name));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json::object load_object(std::string_view name) {
  return json::parse(load_testdata(name)).as_object();
}

FeishuConfig make_config(std::string_view encrypt_key, std::string_view token = kToken) {
  FeishuConfig config;
  config.bot_name = "ops";
  config.platform = "feishu";
  config.api_base = "https://open.feishu.cn";
  config.app_id = std::string(kAppId);
  config.app_secret = "not-used-here";
  config.encrypt_key = std::string(encrypt_key);
  config.verification_token = std::string(token);
  return config;
}

HttpRequest post(std::string body) {
  HttpRequest request{http::verb::post, "/webhook/ops", 11};
  request.set(http::field::content_type, "application/json; charset=utf-8");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// {"encrypt": base64(iv || AES-256-CBC(sha256(key), iv, plaintext))} with a random IV, as the
/// platform sends it.
std::string encrypt_envelope(std::string_view encrypt_key, std::string_view plaintext) {
  const std::string iv = crypto::random_bytes(16);
  auto ciphertext = crypto::aes256_cbc_encrypt(crypto::sha256(encrypt_key), iv, plaintext);
  if (!ciphertext) {
    throw std::runtime_error(ciphertext.error().message());
  }
  return json::serialize(json::object{{"encrypt", crypto::base64_encode(iv + *ciphertext)}});
}

/// X-Lark-Signature = hex(sha256(timestamp + nonce + encrypt_key + body)), over the body as it is
/// now.
void sign(HttpRequest& request, std::string_view encrypt_key) {
  request.set("X-Lark-Request-Timestamp", kTimestamp);
  request.set("X-Lark-Request-Nonce", kNonce);
  const std::string signature = crypto::to_hex(crypto::sha256(
      std::string(kTimestamp) + std::string(kNonce) + std::string(encrypt_key) + request.body()));
  request.set("X-Lark-Signature", signature);
}

HttpRequest encrypted_signed(std::string_view plaintext,
                             std::string_view encrypt_key = kEncryptKey) {
  HttpRequest request = post(encrypt_envelope(encrypt_key, plaintext));
  sign(request, encrypt_key);
  return request;
}

/// The message event of `name` with its header or message fields changed by `edit`.
template <class Edit>
std::string edited(std::string_view name, Edit edit) {
  json::object payload = load_object(name);
  edit(payload);
  return json::serialize(payload);
}

class FeishuWebhookTest : public ::testing::Test {
 protected:
  /// The webhook with an encrypt key (encrypted, signed callbacks) and the bot's open_id known.
  FeishuWebhook encrypted_webhook() const {
    return FeishuWebhook(make_config(kEncryptKey), identity_);
  }
  /// The webhook without an encrypt key: plain callbacks, token only.
  FeishuWebhook plain_webhook() const { return FeishuWebhook(make_config(""), identity_); }

  void SetUp() override { identity_->set_open_id(std::string(kBotOpenId)); }

  std::shared_ptr<BotIdentity> identity_ = std::make_shared<BotIdentity>();
};

// --- url_verification ----------------------------------------------------------------------------

TEST_F(FeishuWebhookTest, PlainUrlVerificationAnswersTheChallenge) {
  auto result = plain_webhook().handle(post(load_testdata("url_verification.json")));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->events.empty());
  EXPECT_EQ(result->ack.result(), http::status::ok);
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"challenge":"ajls384kdjx98XX"})"));
}

TEST_F(FeishuWebhookTest, PlainUrlVerificationWithAWrongTokenIsRejected) {
  FeishuWebhook webhook(make_config("", "another-token"), identity_);
  auto result = webhook.handle(post(load_testdata("url_verification.json")));
  EXPECT_TRUE(fails_with(result, errc::bad_token, 401));
}

TEST_F(FeishuWebhookTest, EncryptedUrlVerificationWithTheTestKeyVector) {
  // crypto_vectors.json encrypt[0]: the challenge encrypted with "test key" and a fixed IV.
  const json::object vector =
      load_object("crypto_vectors.json").at("encrypt").as_array().at(0).as_object();
  ASSERT_EQ(vector.at("encrypt_key").as_string(), "test key");
  FeishuWebhook webhook(make_config("test key", "xxxxxx"), identity_);
  const json::object body{{"encrypt", vector.at("encrypt")}};
  // The platform does not sign the challenge: decryption with our key and the token prove it.
  auto result = webhook.handle(post(json::serialize(body)));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->events.empty());
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"challenge":"ajls384kdjx98XX"})"));
}

TEST_F(FeishuWebhookTest, EncryptedUrlVerificationWithARandomIv) {
  FeishuWebhook webhook(make_config("test key"), identity_);
  auto result =
      webhook.handle(encrypted_signed(load_testdata("url_verification.json"), "test key"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"challenge":"ajls384kdjx98XX"})"));
}

TEST_F(FeishuWebhookTest, EncryptedUrlVerificationWithAWrongTokenIsRejected) {
  FeishuWebhook webhook(make_config(kEncryptKey, "another-token"), identity_);
  auto result = webhook.handle(encrypted_signed(load_testdata("url_verification.json")));
  EXPECT_TRUE(fails_with(result, errc::bad_token, 401));
}

TEST_F(FeishuWebhookTest, AWebhookWithNeitherKeyAcceptsNothing) {
  // The config refuses such a bot (feishu_config_from); built anyway, it must not fall open.
  FeishuWebhook webhook(make_config("", ""), identity_);
  EXPECT_TRUE(fails_with(webhook.handle(post(load_testdata("message_p2p.json"))),
                         errc::bad_token, 401));
  const std::string no_token = edited("message_p2p.json", [](json::object& payload) {
    payload.at("header").as_object().erase("token");
  });
  EXPECT_TRUE(fails_with(webhook.handle(post(no_token)), errc::bad_token, 401));
  EXPECT_TRUE(fails_with(webhook.handle(post(load_testdata("url_verification.json"))),
                         errc::bad_token, 401));
}

TEST_F(FeishuWebhookTest, EncryptedCallbackWithoutAnEncryptKeyIsRejected) {
  auto result = plain_webhook().handle(encrypted_signed(load_testdata("url_verification.json")));
  EXPECT_TRUE(fails_with(result, errc::bad_token, 401));
}

// --- message events ------------------------------------------------------------------------------

TEST_F(FeishuWebhookTest, EncryptedSignedP2pTextMessageBecomesOneEvent) {
  auto result = encrypted_webhook().handle(encrypted_signed(load_testdata("message_p2p.json")));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->ack.result(), http::status::ok);
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"msg":"success"})"));
  ASSERT_EQ(result->events.size(), 1u);
  const Event& event = result->events[0];
  EXPECT_EQ(event.platform, "feishu");
  EXPECT_EQ(event.bot, "ops");
  EXPECT_EQ(event.platform_event_id, "5e3702a84e847582be8db7fb73283c02");
  EXPECT_EQ(event.time,
            std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123)));
  EXPECT_EQ(event.chat.id, "oc_a0553eda9014c201e6969b478895c230");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.sender.id, kSenderOpenId);
  EXPECT_FALSE(event.sender.is_bot);
  ASSERT_TRUE(event.message.has_value());
  EXPECT_EQ(event.message->id, "om_dc13264520392913993dd051dba21dcf");
  EXPECT_EQ(event.message->text, "hello botgate");
  EXPECT_TRUE(event.message->mentions_bot);  // a p2p chat is addressed to the bot
  EXPECT_EQ(event.message->segments, (std::vector<Segment>{Text{"hello botgate"}}));
}

TEST_F(FeishuWebhookTest, PlainP2pTextMessageWithTheTokenBecomesOneEvent) {
  auto result = plain_webhook().handle(post(load_testdata("message_p2p.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "hello botgate");
}

TEST_F(FeishuWebhookTest, PlainEventWithAWrongTokenIsRejected) {
  FeishuWebhook webhook(make_config("", "another-token"), identity_);
  auto result = webhook.handle(post(load_testdata("message_p2p.json")));
  EXPECT_TRUE(fails_with(result, errc::bad_token, 401));
}

TEST_F(FeishuWebhookTest, GroupMentionOfTheBotIsStripped) {
  auto result =
      encrypted_webhook().handle(encrypted_signed(load_testdata("message_group_mention.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  const Event& event = result->events[0];
  EXPECT_EQ(event.platform_event_id, "f7984f25108f8137722bb63cee927e66");
  EXPECT_EQ(event.chat.id, "oc_5ce6d572455d361153b7xx51da133945");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.sender.id, kSenderOpenId);
  ASSERT_TRUE(event.message.has_value());
  EXPECT_EQ(event.message->id, "om_5ce6d572455d361153b7cb51da133945");
  EXPECT_EQ(event.message->text, "ping");
  EXPECT_TRUE(event.message->mentions_bot);
  const std::vector<Segment> expected{Mention{std::string(kBotOpenId), "botgate"}, Text{"ping"}};
  EXPECT_EQ(event.message->segments, expected);
}

TEST_F(FeishuWebhookTest, BeforeTheBotsOpenIdIsKnownNoMentionIsTakenForTheBots) {
  // Until /bot/v3/info answered, the bot cannot tell its mention from others: it keeps every
  // mention in the text and does not claim to be addressed.
  FeishuWebhook webhook(make_config(kEncryptKey), std::make_shared<BotIdentity>());
  auto result = webhook.handle(encrypted_signed(load_testdata("message_group_mention.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "@botgate ping");
  EXPECT_FALSE(result->events[0].message->mentions_bot);
  EXPECT_EQ(result->events[0].message->segments,
            (std::vector<Segment>{Mention{std::string(kBotOpenId), "botgate"}, Text{" ping"}}));
}

TEST_F(FeishuWebhookTest, BeforeTheBotsOpenIdIsKnownAUserMentionWithoutUserIdIsKept) {
  // An app without the contact scope sees no user_id for anyone; such a user's mention used to
  // be taken for the bot's and cut out of the text.
  const std::string body = edited("message_group_other_mention.json", [](json::object& payload) {
    for (auto& m : payload.at("event").at("message").at("mentions").as_array()) {
      m.at("id").as_object()["user_id"] = "";
    }
  });
  FeishuWebhook webhook(make_config(kEncryptKey), std::make_shared<BotIdentity>());
  auto result = webhook.handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "thanks @Alice for the fix");
  EXPECT_FALSE(result->events[0].message->mentions_bot);
}

TEST_F(FeishuWebhookTest, APrivateMessageIsForTheBotBeforeItsOpenIdIsKnown) {
  FeishuWebhook webhook(make_config(kEncryptKey), std::make_shared<BotIdentity>());
  auto result = webhook.handle(encrypted_signed(load_testdata("message_p2p.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_TRUE(result->events[0].message->mentions_bot);
}

TEST_F(FeishuWebhookTest, GroupMentionOfAnotherUserIsKeptAsName) {
  auto result = encrypted_webhook().handle(
      encrypted_signed(load_testdata("message_group_other_mention.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  const Event& event = result->events[0];
  EXPECT_EQ(event.chat.type, ChatType::group);
  ASSERT_TRUE(event.message.has_value());
  EXPECT_EQ(event.message->text, "thanks @Alice for the fix");
  EXPECT_FALSE(event.message->mentions_bot);
  const std::vector<Segment> expected{Text{"thanks "},
                                      Mention{"ou_alice00000000000000000000000000", "Alice"},
                                      Text{" for the fix"}};
  EXPECT_EQ(event.message->segments, expected);
}

TEST_F(FeishuWebhookTest, TopicGroupIsAGroup) {
  const std::string body = edited("message_group_mention.json", [](json::object& payload) {
    payload.at("event").at("message").as_object()["chat_type"] = "topic_group";
  });
  auto result = encrypted_webhook().handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_EQ(result->events[0].chat.type, ChatType::group);
}

TEST_F(FeishuWebhookTest, MessageFromAnAppIsFromABot) {
  const std::string body = edited("message_group_mention.json", [](json::object& payload) {
    payload.at("event").at("sender").as_object()["sender_type"] = "app";
  });
  auto result = encrypted_webhook().handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  EXPECT_TRUE(result->events[0].sender.is_bot);
}

TEST_F(FeishuWebhookTest, PostMessageTextIsExtracted) {
  auto result = encrypted_webhook().handle(encrypted_signed(load_testdata("message_post.json")));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  // One line per paragraph; the image paragraph has no text.
  EXPECT_EQ(result->events[0].message->text, "Line one docs\n\nLine two");
}

TEST_F(FeishuWebhookTest, PostMessageUnderALocaleKeyIsExtracted) {
  const std::string body = edited("message_post.json", [](json::object& payload) {
    json::object& message = payload.at("event").at("message").as_object();
    json::value post = json::parse(message.at("content").as_string());
    message["content"] = json::serialize(json::object{{"zh_cn", std::move(post)}});
  });
  auto result = encrypted_webhook().handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "Line one docs\n\nLine two");
}

TEST_F(FeishuWebhookTest, PostMessageMentionOfTheBotIsStripped) {
  const std::string body = edited("message_group_mention.json", [](json::object& payload) {
    json::object& message = payload.at("event").at("message").as_object();
    message["message_type"] = "post";
    message.erase("mentions");
    const json::object content{
        {"title", ""},
        {"content",
         json::array{json::array{
             json::object{{"tag", "at"}, {"user_id", kBotOpenId}, {"user_name", "botgate"}},
             json::object{{"tag", "text"}, {"text", " status"}}}}}};
    message["content"] = json::serialize(content);
  });
  auto result = encrypted_webhook().handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "status");
  EXPECT_TRUE(result->events[0].message->mentions_bot);
}

TEST_F(FeishuWebhookTest, ImageMessageBecomesAnImageSegment) {
  const std::string body = edited("message_p2p.json", [](json::object& payload) {
    json::object& message = payload.at("event").at("message").as_object();
    message["message_type"] = "image";
    message["content"] = R"({"image_key":"img_v2_0001"})";
  });
  auto result = encrypted_webhook().handle(encrypted_signed(body));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  ASSERT_TRUE(result->events[0].message.has_value());
  EXPECT_EQ(result->events[0].message->text, "");
  EXPECT_EQ(result->events[0].message->segments,
            (std::vector<Segment>{Image{"feishu:img_v2_0001"}}));
}

TEST_F(FeishuWebhookTest, EventForAnotherAppIsAcknowledgedAndDropped) {
  const std::string body = edited("message_p2p.json", [](json::object& payload) {
    payload.at("header").as_object()["app_id"] = "cli_someoneelse000";
  });
  EXPECT_TRUE(acknowledged_without_events(encrypted_webhook().handle(encrypted_signed(body))));
}

TEST_F(FeishuWebhookTest, UnknownEventTypeIsAcknowledgedAndDropped) {
  const std::string body = edited("message_p2p.json", [](json::object& payload) {
    payload.at("header").as_object()["event_type"] = "im.chat.member.bot.added_v1";
  });
  EXPECT_TRUE(acknowledged_without_events(encrypted_webhook().handle(encrypted_signed(body))));
}

TEST_F(FeishuWebhookTest, MessageWithoutEventIdIsMalformed) {
  const std::string body = edited("message_p2p.json", [](json::object& payload) {
    payload.at("header").as_object().erase("event_id");
  });
  EXPECT_TRUE(
      fails_with(encrypted_webhook().handle(encrypted_signed(body)), errc::malformed_payload, 400));
}

// --- forged and broken callbacks -----------------------------------------------------------------

TEST_F(FeishuWebhookTest, TamperedBodyFailsTheSignature) {
  HttpRequest request = encrypted_signed(load_testdata("message_p2p.json"));
  std::string& body = request.body();
  // Flip one bit of a base64 character in the middle of the ciphertext, after signing; the body
  // stays valid JSON.
  std::size_t index = body.size() / 2;
  while (index < body.size() && !std::isalnum(static_cast<unsigned char>(body[index]))) {
    ++index;
  }
  ASSERT_LT(index, body.size() - 2) << body;
  body[index] = static_cast<char>(body[index] ^ 0x01);
  auto result = encrypted_webhook().handle(request);
  EXPECT_TRUE(fails_with(result, errc::bad_signature, 401));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message().find(kEncryptKey), std::string::npos);
}

TEST_F(FeishuWebhookTest, SignatureWithAnotherKeyFails) {
  HttpRequest request = post(encrypt_envelope(kEncryptKey, load_testdata("message_p2p.json")));
  sign(request, "another key");
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::bad_signature, 401));
}

TEST_F(FeishuWebhookTest, MissingSignatureOnAnEventFails) {
  HttpRequest request = post(encrypt_envelope(kEncryptKey, load_testdata("message_p2p.json")));
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::bad_signature, 401));
}

TEST_F(FeishuWebhookTest, PlainBodyWhenAnEncryptKeyIsSetFails) {
  HttpRequest request = post(load_testdata("message_p2p.json"));
  // Even a correct signature does not make a plain body acceptable.
  sign(request, kEncryptKey);
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::bad_signature, 401));
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(post(load_testdata("url_verification.json"))),
                         errc::bad_signature, 401));
}

TEST_F(FeishuWebhookTest, GarbageCiphertextWithAValidSignatureFailsToDecrypt) {
  // IV plus 20 bytes: not a whole number of AES blocks.
  const std::string not_blocks = std::string(16, '\x11') + std::string(20, '\x22');
  // IV plus two blocks that decrypt to junk without valid PKCS#7 padding under this key.
  const std::string junk = std::string(16, '\x00') + std::string(32, '\x5a');
  for (const std::string& raw : {not_blocks, junk}) {
    HttpRequest request =
        post(json::serialize(json::object{{"encrypt", crypto::base64_encode(raw)}}));
    sign(request, kEncryptKey);
    EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::decrypt_failed, 401))
        << raw.size() << " bytes";
  }
}

TEST_F(FeishuWebhookTest, CiphertextThatIsNotBase64FailsToDecrypt) {
  HttpRequest request = post(R"({"encrypt":"not base64 at all!"})");
  sign(request, kEncryptKey);
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::decrypt_failed, 401));
}

TEST_F(FeishuWebhookTest, CiphertextWithAnotherKeyFailsToDecryptOrParse) {
  auto result = encrypted_webhook().handle([] {
    HttpRequest request = post(encrypt_envelope("another key", load_testdata("message_p2p.json")));
    sign(request, kEncryptKey);
    return request;
  }());
  ASSERT_FALSE(result);
  // Wrong-key plaintext almost always has bad padding; when it happens to pad correctly it is junk
  // that does not parse. Either way it is refused.
  EXPECT_TRUE(result.error().is(errc::decrypt_failed) || result.error().is(errc::malformed_payload))
      << result.error().message();
}

TEST_F(FeishuWebhookTest, NonJsonBodyIsMalformed) {
  EXPECT_TRUE(
      fails_with(plain_webhook().handle(post("this is not json")), errc::malformed_payload, 400));
  EXPECT_TRUE(
      fails_with(encrypted_webhook().handle(post("[1,2,3]")), errc::malformed_payload, 400));
}

TEST_F(FeishuWebhookTest, EncryptedNonJsonPayloadIsMalformed) {
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(encrypted_signed("hello world")),
                         errc::malformed_payload, 400));
}

TEST_F(FeishuWebhookTest, GetRequestIsMalformed) {
  HttpRequest request = post(load_testdata("url_verification.json"));
  request.method(http::verb::get);
  EXPECT_TRUE(fails_with(plain_webhook().handle(request), errc::malformed_payload, 400));
}

// --- the unsigned path: the URL challenge or one uniform refusal ---------------------------------

/// An unsigned body {"encrypt": `encrypt`} (any JSON value).
HttpRequest unsigned_envelope(json::value encrypt) {
  return post(json::serialize(json::object{{"encrypt", std::move(encrypt)}}));
}

/// An unsigned body whose `encrypt` is base64(`raw`).
HttpRequest unsigned_raw(std::string_view raw) {
  return unsigned_envelope(json::value(crypto::base64_encode(raw)));
}

/// Status, headers and body as they go out on the wire.
std::string wire(const HttpResponse& response) {
  std::ostringstream out;
  out << response;
  return out.str();
}

TEST_F(FeishuWebhookTest, UnsignedEncryptedUrlVerificationIsAnswered) {
  const FeishuWebhook webhook = encrypted_webhook();
  auto result =
      webhook.handle(post(encrypt_envelope(kEncryptKey, load_testdata("url_verification.json"))));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->events.empty());
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"challenge":"ajls384kdjx98XX"})"));
}

TEST_F(FeishuWebhookTest, EveryUnsignedFailureLooksTheSameFromOutside) {
  // Without X-Lark-Signature nothing but the URL challenge is accepted, and a forger must not
  // learn why a body failed: were bad padding, a plaintext that is not JSON and JSON of another
  // kind answered differently, that would be a padding oracle (decrypt or encrypt anything a
  // block at a time without the key).
  const std::string junk_blocks = std::string(16, '\x00') + std::string(32, '\x5a');
  const std::string not_blocks = std::string(16, '\x11') + std::string(20, '\x22');
  const std::string wrong_token = edited("url_verification.json", [](json::object& payload) {
    payload["token"] = "someone else's token";
  });
  struct Case {
    std::string name;
    HttpRequest request;
  };
  std::vector<Case> cases;
  cases.push_back({"not base64", unsigned_envelope("not base64 at all!")});
  cases.push_back({"too short", unsigned_raw(std::string(20, '\x01'))});
  cases.push_back({"not whole blocks", unsigned_raw(not_blocks)});
  cases.push_back({"bad padding", unsigned_raw(junk_blocks)});
  cases.push_back({"another key", post(encrypt_envelope("another key", "hello world"))});
  cases.push_back({"not JSON", post(encrypt_envelope(kEncryptKey, "hello world"))});
  cases.push_back({"a JSON array", post(encrypt_envelope(kEncryptKey, "[1,2,3]"))});
  cases.push_back(
      {"a message event", post(encrypt_envelope(kEncryptKey, load_testdata("message_p2p.json")))});
  cases.push_back({"a wrong token", post(encrypt_envelope(kEncryptKey, wrong_token))});
  cases.push_back({"encrypt not a string", unsigned_envelope(json::value(42))});
  cases.push_back({"an empty signature", [&] {
                     HttpRequest r = post(encrypt_envelope(kEncryptKey, "hello world"));
                     r.set("X-Lark-Signature", "");
                     return r;
                   }()});

  const FeishuWebhook webhook = encrypted_webhook();
  std::optional<std::string> first;
  std::set<std::string> details;
  for (const Case& c : cases) {
    auto result = webhook.handle(c.request);
    ASSERT_TRUE(fails_with(result, errc::bad_signature, 401)) << c.name;
    // The answer the runtime sends for it, byte for byte.
    const std::string answer = wire(rejection_response(result.error()));
    if (!first) first = answer;
    EXPECT_EQ(answer, *first) << c.name;
    EXPECT_EQ(answer.find("detail"), std::string::npos) << c.name << ": " << answer;
    EXPECT_EQ(result.error().message().find(kEncryptKey), std::string::npos) << c.name;
    details.insert(result.error().detail);  // the log line says which
  }
  EXPECT_GE(details.size(), 5u);
}

TEST_F(FeishuWebhookTest, AnUnsignedUrlVerificationNeedsTheTokenWhenOneIsConfigured) {
  // Without a verification_token the encrypt_key alone proves the challenge.
  FeishuWebhook key_only(make_config(kEncryptKey, ""), identity_);
  const std::string wrong_token = edited("url_verification.json", [](json::object& payload) {
    payload["token"] = "anything";
  });
  auto result = key_only.handle(post(encrypt_envelope(kEncryptKey, wrong_token)));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(json::parse(result->ack.body()), json::parse(R"({"challenge":"ajls384kdjx98XX"})"));
  const HttpRequest unsigned_wrong_token = post(encrypt_envelope(kEncryptKey, wrong_token));
  EXPECT_TRUE(
      fails_with(encrypted_webhook().handle(unsigned_wrong_token), errc::bad_signature, 401));
}

TEST_F(FeishuWebhookTest, ABadSignatureIsRefusedBeforeDecryption) {
  // A signature is checked before the ciphertext is looked at: a signed body with bad padding
  // and a wrong signature fails the signature, not the decryption.
  HttpRequest request = unsigned_raw(std::string(16, '\x00') + std::string(32, '\x5a'));
  sign(request, "another key");
  EXPECT_TRUE(fails_with(encrypted_webhook().handle(request), errc::bad_signature, 401));
}

TEST(FeishuWebhookErrorStatusTest, ForgedIs401AndMalformedIs400) {
  EXPECT_EQ(http_status_for(Error{errc::bad_signature}), 401u);
  EXPECT_EQ(http_status_for(Error{errc::bad_token}), 401u);
  EXPECT_EQ(http_status_for(Error{errc::decrypt_failed}), 401u);
  EXPECT_EQ(http_status_for(Error{errc::malformed_payload}), 400u);
}

}  // namespace
}  // namespace botgate::feishu
