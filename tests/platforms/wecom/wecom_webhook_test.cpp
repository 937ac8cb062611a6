#include "botgate/platforms/wecom/wecom_webhook.hpp"

#include "platforms/wecom/wecom_test_support.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/segment_printers.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace botgate::wecom {
namespace {

using ::botgate::test::acknowledged_without_events;
using ::botgate::test::fails_with;
using test::json_string;

/// The one event of `result`, which must be acknowledged with an empty 200.
const Event& only_event(const Result<WebhookOutcome>& result) {
  EXPECT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->ack.result(), http::status::ok);
  EXPECT_EQ(result->ack.body(), "");
  EXPECT_EQ(result->events.size(), 1u);
  return result->events.at(0);
}

class WecomWebhookTest : public ::testing::Test {
 protected:
  boost::json::object vectors_ = test::load_json("wecom/official_vectors.json");
  WecomConfig app_config_ = test::official_config(WecomKind::app);
  WecomConfig group_config_ = test::official_config(WecomKind::group);
  WecomConfig aibot_config_ = test::official_config(WecomKind::aibot);

  HttpRequest official_get() const {
    const auto get = vectors_.at("url_verification").as_object();
    HttpRequest request{http::verb::get,
                        test::callback_target(json_string(get, "msg_signature"),
                                              json_string(get, "timestamp"),
                                              json_string(get, "nonce")) +
                            "&echostr=" + json_string(get, "echostr_query"),
                        11};
    return request;
  }

  /// The official POST example: an app text message from "mycreate" to AgentID 218.
  HttpRequest official_post() const {
    const auto post = vectors_.at("message").as_object();
    const std::string encrypted = json_string(post, "encrypt");
    HttpRequest request{http::verb::post,
                        test::callback_target(json_string(post, "msg_signature"),
                                              json_string(post, "timestamp"),
                                              json_string(post, "nonce")),
                        11};
    request.body() =
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" +
        encrypted + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
    request.prepare_payload();
    return request;
  }
};

// --- URL verification ----------------------------------------------------------------------------

TEST_F(WecomWebhookTest, UrlVerificationAnswersTheOfficialEchostrPlaintext) {
  auto result = WecomWebhook(app_config_).handle(official_get());
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->events.empty());
  EXPECT_EQ(result->ack.result(), http::status::ok);
  // Exactly the plaintext: no quotes, no newline.
  EXPECT_EQ(result->ack.body(),
            json_string(vectors_.at("url_verification").as_object(), "message"));
  EXPECT_EQ(result->ack[http::field::content_type], "text/plain");
}

TEST_F(WecomWebhookTest, UrlVerificationWithATamperedSignatureIs401) {
  HttpRequest request = official_get();
  std::string target(request.target());
  target.replace(target.find("5c45ff"), 6, "5c45fe");
  request.target(target);
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::bad_signature, 401));
}

TEST_F(WecomWebhookTest, UrlVerificationWithAPlusDecodedAsSpaceFails) {
  // A client that form-decodes "+" to " " would break the official echostr; botgate keeps "%2B"
  // as "+" and a literal "+" as "+". Here the query has a space: the signature cannot match.
  HttpRequest request = official_get();
  std::string target(request.target());
  target.replace(target.find("%2B"), 3, "%20");
  request.target(target);
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::bad_signature, 401));
}

TEST_F(WecomWebhookTest, UrlVerificationWithALiteralPlusWorks) {
  HttpRequest request = official_get();
  std::string target(request.target());
  for (auto at = target.find("%2B"); at != std::string::npos; at = target.find("%2B")) {
    target.replace(at, 3, "+");
  }
  request.target(target);
  auto result = WecomWebhook(app_config_).handle(request);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->ack.body(), "1616140317555161061");
}

TEST_F(WecomWebhookTest, UrlVerificationForAnotherReceiveIdIs401) {
  // Signed with our token, but encrypted for wx5823bf96d3bd56c7: a group bot expects "".
  EXPECT_TRUE(fails_with(WecomWebhook(group_config_).handle(official_get()), errc::bad_token, 401));
}

TEST_F(WecomWebhookTest, UrlVerificationWithoutEchostrIs400) {
  HttpRequest request{http::verb::get, "/webhook/wecom?msg_signature=x&timestamp=1&nonce=2", 11};
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::malformed_payload, 400));
  HttpRequest bare{http::verb::get, "/webhook/wecom", 11};
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(bare), errc::malformed_payload, 400));
}

// --- app messages --------------------------------------------------------------------------------

TEST_F(WecomWebhookTest, TheOfficialAppMessageBecomesOneEvent) {
  auto result = WecomWebhook(app_config_).handle(official_post());
  const Event& event = only_event(result);
  EXPECT_EQ(event.platform, "wecom");
  EXPECT_EQ(event.bot, "wecom");
  EXPECT_EQ(event.platform_event_id, "4561255354251345929");
  EXPECT_EQ(event.time, std::chrono::system_clock::time_point(std::chrono::seconds(1409659813)));
  EXPECT_EQ(event.chat.id, "mycreate");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.sender.id, "mycreate");
  EXPECT_FALSE(event.sender.is_bot);
  EXPECT_TRUE(event.reply_credential.empty());
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->id, "4561255354251345929");
  EXPECT_EQ(event.message->text, "hello");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments, std::vector<Segment>{Text{"hello"}});
}

TEST_F(WecomWebhookTest, AnAppMessageForAnotherAgentIsAcknowledgedAndDropped) {
  app_config_.agent_id = 1000002;
  EXPECT_TRUE(acknowledged_without_events(WecomWebhook(app_config_).handle(official_post())));
}

TEST_F(WecomWebhookTest, AnAppEventIsAcknowledgedWithoutEvents) {
  const std::string plaintext =
      "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA["
      "mycreate]]></FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[event]]>"
      "</MsgType><Event><![CDATA[enter_agent]]></Event><AgentID>218</AgentID></xml>";
  auto request = test::encrypted_post(test::crypto_for(app_config_), plaintext);
  EXPECT_TRUE(acknowledged_without_events(WecomWebhook(app_config_).handle(request)));
}

TEST_F(WecomWebhookTest, ATamperedSignatureIs401WithoutEvents) {
  HttpRequest request = official_post();
  std::string target(request.target());
  target.replace(target.find("477715"), 6, "477716");
  request.target(target);
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::bad_signature, 401));
  HttpRequest unsigned_request = official_post();
  unsigned_request.target("/webhook/wecom");
  EXPECT_TRUE(
      fails_with(WecomWebhook(app_config_).handle(unsigned_request), errc::bad_signature, 401));
}

TEST_F(WecomWebhookTest, ATamperedCiphertextIs401) {
  // Changing the body breaks the signature, which is checked before anything is decrypted.
  HttpRequest request = official_post();
  std::string body = request.body();
  body[body.find("RypEv")] = 'S';
  request.body() = body;
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::bad_signature, 401));
}

TEST_F(WecomWebhookTest, AWrongReceiveIdIs401) {
  WecomConfig other = app_config_;
  other.corp_id = "ww0000000000000000";
  auto request = test::encrypted_post(test::crypto_for(other), "<xml><FromUserName>u</FromUserName>"
                                                               "<MsgType>text</MsgType><Content>x"
                                                               "</Content><MsgId>1</MsgId></xml>");
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::bad_token, 401));
}

TEST_F(WecomWebhookTest, SignedGarbageIs401) {
  const auto crypto = test::crypto_for(app_config_);
  for (const std::string& encrypted :
       std::vector<std::string>{"bm90IGEgY2lwaGVydGV4dA==", "RypEvHKD8QQKFhvQ6Qle", "@@@@"}) {
    auto request = test::signed_post(crypto, encrypted,
                                     "<xml><Encrypt><![CDATA[" + encrypted + "]]></Encrypt></xml>");
    EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::decrypt_failed, 401))
        << encrypted;
  }
}

// --- hostile and foreign bodies ------------------------------------------------------------------

TEST_F(WecomWebhookTest, HostileOrForeignBodiesAre400) {
  const auto crypto = test::crypto_for(app_config_);
  for (const std::string& body : std::vector<std::string>
       {test::load_testdata("wecom/billion_laughs.xml"),
        test::load_testdata("wecom/external_entity.xml"),
        test::load_testdata("wecom/not_wecom.xml"),
        std::string(""), std::string("hello"), std::string("<xml><Encrypt></Encrypt></xml>"),
        std::string("<notxml><Encrypt>abc</Encrypt></notxml>"), std::string("<xml><Encrypt>"),
        std::string(R"({"msg":"no encrypt"})"), std::string(R"({"encrypt":42})"),
        std::string("[1,2]")}) {
    auto request = test::signed_post(crypto, "abc", body);
    EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::malformed_payload, 400))
        << body;
  }
}

TEST_F(WecomWebhookTest, AHostileDecryptedPlaintextIs400) {
  const auto crypto = test::crypto_for(app_config_);
  for (const std::string& plaintext : std::vector<std::string>
       {test::load_testdata("wecom/billion_laughs.xml"),
        test::load_testdata("wecom/external_entity.xml"), std::string("<xml><unclosed></xml>"),
        std::string("{not json")}) {
    auto request = test::encrypted_post(crypto, plaintext);
    EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::malformed_payload, 400))
        << plaintext;
  }
}

TEST_F(WecomWebhookTest, OtherMethodsAre400) {
  HttpRequest request = official_post();
  request.method(http::verb::put);
  EXPECT_TRUE(fails_with(WecomWebhook(app_config_).handle(request), errc::malformed_payload, 400));
}

// --- group bots ----------------------------------------------------------------------------------

TEST_F(WecomWebhookTest, AGroupBotMessageBecomesAGroupEventWithItsWebhookUrl) {
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      test::load_testdata("wecom/group_message.xml"));
  auto result = WecomWebhook(group_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.platform, "wecom");
  EXPECT_EQ(event.platform_event_id, "CAIQz7uJ4bMGGIeLtOTSgICAAyAB");
  EXPECT_EQ(event.chat.id, "wrkSFfCgAALFgnrSsWU38puiv4yvExuw");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.sender.id, "zhangsan");
  EXPECT_EQ(event.sender.name, "张三");
  EXPECT_EQ(event.reply_credential, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xxxxxxx");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->id, "CAIQz7uJ4bMGGIeLtOTSgICAAyAB");
  EXPECT_EQ(event.message->text, "hello robot");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.message->segments, std::vector<Segment>{Text{"hello robot"}});
}

TEST_F(WecomWebhookTest, AGroupBotMessageWithTheConfiguredMentionName) {
  group_config_.mention_name = "RobotA";
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      test::load_testdata("wecom/group_message.xml"));
  EXPECT_EQ(only_event(WecomWebhook(group_config_).handle(request)).message->text, "hello robot");
  group_config_.mention_name = "RobotB";  // another bot's name: the text is left as it is
  EXPECT_EQ(only_event(WecomWebhook(group_config_).handle(request)).message->text,
            "@RobotA hello robot");
}

TEST_F(WecomWebhookTest, AGroupBotSingleChatIsPrivateAndKeyedByTheUser) {
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      test::load_testdata("wecom/group_single_message.xml"));
  auto result = WecomWebhook(group_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.chat.id, "lisi");
  EXPECT_EQ(event.sender.id, "lisi");
  EXPECT_EQ(event.message->text, "你好，机器人");
  EXPECT_EQ(event.reply_credential, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=yyyyyyy");
}

TEST_F(WecomWebhookTest, AGroupBotEventIsAcknowledgedWithoutEvents) {
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      test::load_testdata("wecom/group_event.xml"));
  EXPECT_TRUE(acknowledged_without_events(WecomWebhook(group_config_).handle(request)));
}

TEST_F(WecomWebhookTest, AGroupBotMixedMessageKeepsTextAndImages) {
  const std::string plaintext =
      "<xml><WebhookUrl><![CDATA[https://example.com/hook]]></WebhookUrl><ChatId>c1</ChatId>"
      "<ChatType>group</ChatType><From><UserId>u1</UserId></From><MsgType>mixed</MsgType>"
      "<MixedMessage><MsgItem><MsgType>text</MsgType><Text><Content><![CDATA[@RobotA look]]>"
      "</Content></Text></MsgItem><MsgItem><MsgType>image</MsgType><Image><ImageUrl><![CDATA["
      "https://example.com/a.png]]></ImageUrl></Image></MsgItem></MixedMessage><MsgId>m1</MsgId>"
      "</xml>";
  auto request = test::encrypted_post(test::crypto_for(group_config_), plaintext);
  auto result = WecomWebhook(group_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.message->text, "look");
  EXPECT_EQ(event.message->segments,
            (std::vector<Segment>{Text{"look"}, Image{"https://example.com/a.png"}}));
}

/// A group-bot text message whose Content CDATA is `content` (raw bytes).
std::string group_text(std::string_view content) {
  return "<xml><WebhookUrl><![CDATA[https://example.com/hook]]></WebhookUrl><ChatId>c1</ChatId>"
         "<ChatType>group</ChatType><From><UserId>u1</UserId></From><MsgType>text</MsgType>"
         "<Text><Content><![CDATA[" +
         std::string(content) + "]]></Content></Text><MsgId>m1</MsgId></xml>";
}

TEST_F(WecomWebhookTest, MessageTextThatMentionsADoctypeIsAMessage) {
  // Only a real DTD is refused; a user who types "<!DOCTYPE html>" has sent a message.
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      group_text("@RobotA what is <!DOCTYPE x> for?"));
  auto result = WecomWebhook(group_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.message->text, "what is <!DOCTYPE x> for?");
}

TEST_F(WecomWebhookTest, InvalidUtf8InAMessageIsReplacedNotRefused) {
  // "\xff" never starts a sequence, "\xc3(" is a lead byte without its continuation, and
  // "\xed\xa0\x80" a surrogate: each bad sequence becomes U+FFFD, the rest is kept.
  auto request = test::encrypted_post(test::crypto_for(group_config_),
                                      group_text("@RobotA bad \xff \xc3( \xed\xa0\x80 end 你好"));
  auto result = WecomWebhook(group_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.message->text,
            "bad \uFFFD \uFFFD( \uFFFD\uFFFD\uFFFD end \u4F60\u597D");
  EXPECT_EQ(event.message->segments, std::vector<Segment>{Text{event.message->text}});
}

TEST_F(WecomWebhookTest, AGroupBotMessageWithoutMsgIdIs400) {
  const std::string plaintext =
      "<xml><ChatType>group</ChatType><From><UserId>u1</UserId></From><MsgType>text</MsgType>"
      "<Text><Content>hi</Content></Text></xml>";
  auto request = test::encrypted_post(test::crypto_for(group_config_), plaintext);
  EXPECT_TRUE(
      fails_with(WecomWebhook(group_config_).handle(request), errc::malformed_payload, 400));
}

// --- AI bots -------------------------------------------------------------------------------------

TEST_F(WecomWebhookTest, AnAiBotMessageBecomesAnEventWithItsResponseUrl) {
  auto request = test::encrypted_post(test::crypto_for(aibot_config_),
                                      test::load_testdata("wecom/aibot_message.json"), true);
  auto result = WecomWebhook(aibot_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.platform_event_id, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
  EXPECT_EQ(event.chat.id, "CHATID");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.sender.id, "USERID");
  EXPECT_EQ(event.reply_credential,
            "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESPONSE_CODE");
  EXPECT_EQ(event.message->id, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
  EXPECT_EQ(event.message->text, "hello robot");
}

TEST_F(WecomWebhookTest, AnAiBotSingleChatIsPrivate) {
  const std::string plaintext =
      R"({"msgid":"m2","aibotid":"AIBOTID","chattype":"single","from":{"userid":"u9"},)"
      R"("response_url":"https://example.com/r","msgtype":"text","text":{"content":"@x hi"}})";
  auto request = test::encrypted_post(test::crypto_for(aibot_config_), plaintext, true);
  auto result = WecomWebhook(aibot_config_).handle(request);
  const Event& event = only_event(result);
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_EQ(event.chat.id, "u9");
  // A single chat has no mention to strip: text that starts with "@" stays.
  EXPECT_EQ(event.message->text, "@x hi");
}

TEST_F(WecomWebhookTest, AiBotStreamRefreshesAndEventsAreAcknowledgedWithoutEvents) {
  for (const char* plaintext :
       {R"({"msgid":"m3","chattype":"single","from":{"userid":"u"},"msgtype":"stream",)"
        R"("stream":{"id":"s1"}})",
        R"({"msgid":"m4","chattype":"single","from":{"userid":"u"},"msgtype":"event",)"
        R"("event":{"eventtype":"enter_chat"}})"}) {
    auto request = test::encrypted_post(test::crypto_for(aibot_config_), plaintext, true);
    EXPECT_TRUE(acknowledged_without_events(WecomWebhook(aibot_config_).handle(request)))
        << plaintext;
  }
}

/// The plaintext of an AI bot's passive reply, after the checks WeCom makes: a JSON envelope
/// with an integer timestamp, the callback's nonce, and a msg_signature over them.
boost::json::object passive_reply(const HttpResponse& ack, const WecomCrypto& crypto) {
  EXPECT_EQ(ack.result(), http::status::ok);
  const auto envelope = boost::json::parse(ack.body()).as_object();
  EXPECT_TRUE(envelope.at("timestamp").is_int64());
  const std::string timestamp = std::to_string(envelope.at("timestamp").as_int64());
  const std::string nonce = json_string(envelope, "nonce");
  const std::string encrypted = json_string(envelope, "encrypt");
  EXPECT_EQ(nonce, test::kNonce);
  EXPECT_TRUE(crypto.signature_matches(timestamp, nonce, encrypted,
                                       json_string(envelope, "msgsignature")));
  auto plain = crypto.decrypt(encrypted);
  EXPECT_TRUE(plain);
  return plain ? boost::json::parse(*plain).as_object() : boost::json::object{};
}

TEST_F(WecomWebhookTest, AnAiBotMessageIsAnsweredWithAPassiveStreamThatRefreshesFetch) {
  auto streams = std::make_shared<AibotPassiveStreams>();
  const WecomWebhook webhook(aibot_config_, streams);
  const WecomCrypto crypto = test::crypto_for(aibot_config_);
  auto result = webhook.handle(test::encrypted_post(
      crypto, test::load_testdata("wecom/aibot_message.json"), true));
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->events.size(), 1u);
  const std::string id = AibotPassiveStreams::stream_id_for(result->events[0].reply_credential);
  const auto opened = passive_reply(result->ack, crypto);
  EXPECT_EQ(json_string(opened, "msgtype"), "stream");
  const auto& stream = opened.at("stream").as_object();
  EXPECT_EQ(json_string(stream, "id"), id);
  EXPECT_EQ(stream.at("finish"), false);
  EXPECT_EQ(json_string(stream, "content"), "");

  const std::string refresh =
      R"({"msgid":"r1","chattype":"group","from":{"userid":"USERID"},"msgtype":"stream",)"
      R"("stream":{"id":")" + id + R"("}})";
  auto ask = [&] {
    auto answer = webhook.handle(test::encrypted_post(crypto, refresh, true));
    EXPECT_TRUE(answer);
    EXPECT_TRUE(answer->events.empty());
    return passive_reply(answer->ack, crypto).at("stream").as_object();
  };
  EXPECT_EQ(ask().at("finish"), false);
  streams->publish(id, "key-0", "**Hello**", true, AibotPassiveStreams::Clock::now());
  const auto finished = ask();
  EXPECT_EQ(json_string(finished, "content"), "**Hello**");
  EXPECT_EQ(finished.at("finish"), true);
  EXPECT_EQ(streams->delivery(id, AibotPassiveStreams::Clock::now()),
            AibotPassiveStreams::Delivery::delivered);
}

TEST_F(WecomWebhookTest, AStreamRefreshWithoutAnIdIs400) {
  const WecomWebhook webhook(aibot_config_, std::make_shared<AibotPassiveStreams>());
  auto request = test::encrypted_post(
      test::crypto_for(aibot_config_),
      R"({"msgid":"m","chattype":"single","from":{"userid":"u"},"msgtype":"stream","stream":{}})",
      true);
  EXPECT_TRUE(fails_with(webhook.handle(request), errc::malformed_payload, 400));
}

TEST_F(WecomWebhookTest, AnAiBotMessageWithoutMsgidIs400) {
  auto request = test::encrypted_post(
      test::crypto_for(aibot_config_),
      R"({"chattype":"single","from":{"userid":"u"},"msgtype":"text","text":{"content":"hi"}})",
      true);
  EXPECT_TRUE(
      fails_with(WecomWebhook(aibot_config_).handle(request), errc::malformed_payload, 400));
}

// --- mention stripping ---------------------------------------------------------------------------

TEST(WecomMentionTest, StripsTheLeadingMentionInGroups) {
  EXPECT_EQ(strip_leading_mention("@RobotA hello robot", "", true), "hello robot");
  EXPECT_EQ(strip_leading_mention("  @RobotA   hello  ", "", true), "hello");
  EXPECT_EQ(strip_leading_mention("@RobotA\u2005你好", "", true), "你好");
  EXPECT_EQ(strip_leading_mention("@机器人 你好", "", true), "你好");
  EXPECT_EQ(strip_leading_mention("@RobotA", "", true), "");
  EXPECT_EQ(strip_leading_mention("@RobotA\nline two", "", true), "line two");
  EXPECT_EQ(strip_leading_mention("hello @RobotA", "", true), "hello @RobotA");
  EXPECT_EQ(strip_leading_mention("@RobotA @Bob hi", "", true), "@Bob hi");
}

TEST(WecomMentionTest, WithAMentionNameOnlyThatNameIsStripped) {
  EXPECT_EQ(strip_leading_mention("@Robot A hello", "Robot A", true), "hello");
  EXPECT_EQ(strip_leading_mention("@Robot A hello", "Robot A", false), "hello");
  EXPECT_EQ(strip_leading_mention("@RobotAB hello", "RobotA", true), "@RobotAB hello");
  EXPECT_EQ(strip_leading_mention("@Bob hello", "RobotA", true), "@Bob hello");
  EXPECT_EQ(strip_leading_mention("@RobotA", "RobotA", true), "");
}

TEST(WecomMentionTest, SingleChatsKeepALeadingAtWithoutAMentionName) {
  EXPECT_EQ(strip_leading_mention("@Bob is here", "", false), "@Bob is here");
  EXPECT_EQ(strip_leading_mention(" hi ", "", false), "hi");
}

}  // namespace
}  // namespace botgate::wecom
