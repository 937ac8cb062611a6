#include "botgate/platforms/wecom/wecom_sender.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/platforms/wecom/wecom_markup.hpp"
#include "botgate/platforms/wecom/wecom_token.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <string>

namespace botgate::wecom {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using ::botgate::test::fails_with;
using ::botgate::test::json_response;

HttpResponse ok(std::string body) { return json_response(http::status::ok, std::move(body)); }

// --- reading answers -----------------------------------------------------------------------------

TEST(WecomSendResponseTest, ErrcodeZeroIsSentWithTheMsgid) {
  EXPECT_EQ(read_send_response(ok(R"({"errcode":0,"errmsg":"ok"})")).value(), "");
  EXPECT_EQ(read_send_response(ok(R"({"errcode":0,"errmsg":"ok","invaliduser":"","msgid":"xxxx"})"))
                .value(),
            "xxxx");
}

TEST(WecomSendResponseTest, Errcode45009IsRateLimitedForAMinute) {
  auto result = read_send_response(ok(
      R"({"errcode":45009,"errmsg":"api freq out of limit, hint: [1700000000_1], more info at )"
      R"(https://open.work.weixin.qq.com/devtool/query?e=45009"})"));
  ASSERT_TRUE(fails_with(result, errc::rate_limited));
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_EQ(*result.error().retry_after, 60s);
  EXPECT_TRUE(is_retryable(result.error()));
  auto http429 = read_send_response(json_response(http::status::too_many_requests, "slow down"));
  ASSERT_TRUE(fails_with(http429, errc::rate_limited));
  EXPECT_EQ(*http429.error().retry_after, 60s);
}

TEST(WecomSendResponseTest, TokenCodesAreTokenRejected) {
  for (int code : {40014, 42001, 42007, 42009, 40001}) {
    auto result = read_send_response(
        ok(R"({"errcode":)" + std::to_string(code) + R"(,"errmsg":"invalid access_token"})"));
    ASSERT_TRUE(fails_with(result, errc::token_rejected)) << code;
    EXPECT_NE(result.error().detail.find(std::to_string(code)), std::string::npos);
  }
}

TEST(WecomSendResponseTest, BusyAnd5xxAndNonJsonAreUnavailable) {
  ASSERT_TRUE(fails_with(read_send_response(ok(R"({"errcode":-1,"errmsg":"system busy"})")),
                         errc::platform_unavailable));
  ASSERT_TRUE(fails_with(read_send_response(json_response(http::status::bad_gateway, "<html/>")),
                         errc::platform_unavailable));
  ASSERT_TRUE(fails_with(read_send_response(ok("not json")), errc::platform_unavailable));
  auto result = read_send_response(
      json_response(http::status::service_unavailable, R"({"errcode":0,"errmsg":"ok"})"));
  ASSERT_TRUE(fails_with(result, errc::platform_unavailable));
  EXPECT_TRUE(is_retryable(result.error()));
}

TEST(WecomSendResponseTest, OtherErrcodesAreRejectedWithErrcodeAndErrmsg) {
  auto result = read_send_response(ok(
      R"({"errcode":93000,"errmsg":"invalid webhook url, hint: [1700000000_2]"})"));
  ASSERT_TRUE(fails_with(result, errc::platform_rejected));
  EXPECT_NE(result.error().detail.find("93000"), std::string::npos);
  EXPECT_NE(result.error().detail.find("invalid webhook url"), std::string::npos);
  EXPECT_FALSE(is_retryable(result.error()));
  EXPECT_TRUE(fails_with(read_send_response(ok(R"({"errcode":44004,"errmsg":"empty content"})")),
                         errc::platform_rejected));
}

TEST(WecomTokenResponseTest, ReadsTheToken) {
  auto token = read_token_response(ok(
      R"({"errcode":0,"errmsg":"ok","access_token":"accesstoken000001","expires_in":7200})"));
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->value, "accesstoken000001");
  EXPECT_EQ(token->expires_in, 7200s);
}

TEST(WecomTokenResponseTest, RefusalsAreTokenUnavailableWithTheErrcode) {
  for (const char* body : {R"({"errcode":40001,"errmsg":"invalid credential"})",
                           R"({"errcode":0,"errmsg":"ok","expires_in":7200})",
                           R"({"errcode":0,"access_token":"t","expires_in":0})", "<html>"}) {
    auto token = read_token_response(ok(body));
    ASSERT_FALSE(token) << body;
    EXPECT_TRUE(token.error().is(errc::token_unavailable)) << body;
  }
  EXPECT_NE(read_token_response(ok(R"({"errcode":40013,"errmsg":"invalid corpid"})"))
                .error()
                .detail.find("40013"),
            std::string::npos);
}

TEST(WecomTokenResponseTest, TheGettokenUrlEncodesItsValues) {
  WecomConfig config;
  config.api_base = "http://127.0.0.1:1";
  config.corp_id = "ww123";
  config.corp_secret = "a+b/c=";
  EXPECT_EQ(gettoken_url(config),
            "http://127.0.0.1:1/cgi-bin/gettoken?corpid=ww123&corpsecret=a%2Bb%2Fc%3D");
}

TEST(WecomUrlTest, WebhookKeyAndRebase) {
  EXPECT_EQ(webhook_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"),
            "693a91f6-7xxx");
  EXPECT_EQ(webhook_key("http://127.0.0.1:9/hook"), "http://127.0.0.1:9/hook");
  const std::string hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k";
  EXPECT_EQ(rebase_url(hook, kDefaultApiBase), hook);
  EXPECT_EQ(rebase_url(hook, "http://127.0.0.1:8081"),
            "http://127.0.0.1:8081/cgi-bin/webhook/send?key=k");
  EXPECT_EQ(rebase_url("https://example.com/x", "http://127.0.0.1:8081"), "https://example.com/x");
  // The store's rate key names the webhook by a digest: the key is a secret.
  const std::string rate_key = webhook_rate_key(hook + "-secret");
  EXPECT_TRUE(rate_key.starts_with("wecom:webhook:")) << rate_key;
  EXPECT_EQ(rate_key.find("k-secret"), std::string::npos) << rate_key;
  EXPECT_EQ(rate_key, webhook_rate_key("http://127.0.0.1:9/cgi-bin/webhook/send?key=k-secret"))
      << "counted by key, whichever host it is posted to";
  EXPECT_EQ(rebase_url("https://qyapi.weixin.qq.com.evil.example/x", "http://127.0.0.1:8081"),
            "https://qyapi.weixin.qq.com.evil.example/x");
}

// --- sending through a loopback WeCom ------------------------------------------------------------

/// A WeCom stand-in: gettoken hands out tok-1, tok-2..; message/send answers `send_errcode` for
/// the next `failing_sends` calls; webhooks answer 45009 for the next `limited_webhooks` calls;
/// otherwise webhooks and response_url answer errcode 0.
class FakeWecom {
 public:
  std::atomic<int> failing_sends{0};
  std::atomic<int> send_errcode{40014};
  std::atomic<int> tokens{0};
  std::atomic<int> limited_webhooks{0};

  HttpResponse handle(const HttpRequest& request) {
    const std::string_view target = request.target();
    if (target.starts_with("/cgi-bin/webhook/send") && limited_webhooks > 0) {
      --limited_webhooks;
      return ok(R"({"errcode":45009,"errmsg":"api freq out of limit"})");
    }
    if (target.starts_with("/cgi-bin/gettoken")) {
      const int n = ++tokens;
      return ok(R"({"errcode":0,"errmsg":"ok","access_token":"tok-)" + std::to_string(n) +
                R"(","expires_in":7200})");
    }
    if (target.starts_with("/cgi-bin/message/send") && failing_sends > 0) {
      --failing_sends;
      return ok(R"({"errcode":)" + std::to_string(send_errcode.load()) + R"(,"errmsg":"x"})");
    }
    if (target.starts_with("/cgi-bin/message/send")) {
      return ok(R"({"errcode":0,"errmsg":"ok","msgid":"msg-1"})");
    }
    return ok(R"({"errcode":0,"errmsg":"ok"})");
  }
};

class WecomSenderTest : public ::testing::Test {
 protected:
  WecomSenderTest()
      : server_({}, [this](const HttpRequest& r) { return fake_.handle(r); }),
        http_(io_.get_executor(), net::HttpClientOptions{}) {}

  WecomSender make_sender(WecomKind kind) {
    WecomConfig config;
    config.bot_name = "wecom";
    config.kind = kind;
    config.api_base = server_.url("");
    config.webhook_url = server_.url("/cgi-bin/webhook/send?key=own");
    config.corp_id = "ww123";
    config.corp_secret = "secret";
    config.agent_id = 1000002;
    return WecomSender(config, services_);
  }

  Result<SentMessage> send(WecomSender& sender, const OutgoingMessage& message) {
    return botgate::test::run_on(io_, sender.send(message));
  }

  OutgoingMessage group_reply(std::string text) const {
    OutgoingMessage m = OutgoingMessage::plain(std::move(text));
    m.chat_id = "chat";
    m.chat_type = ChatType::group;
    m.reply_to_user = "zhangsan";
    m.reply_credential = server_.url("/cgi-bin/webhook/send?key=chat-key");
    return m;
  }

  static OutgoingMessage app_message(std::string text) {
    OutgoingMessage m = OutgoingMessage::plain(std::move(text));
    m.chat_id = "mycreate";
    return m;
  }

  std::vector<HttpRequest> requests_to(std::string_view prefix) const {
    std::vector<HttpRequest> out;
    for (HttpRequest& r : server_.requests()) {
      if (std::string_view(r.target()).starts_with(prefix)) out.push_back(std::move(r));
    }
    return out;
  }

  FakeWecom fake_;
  botgate::test::TestHttpServer server_;
  asio::io_context io_;
  net::HttpClient http_;
  botgate::test::MemoryStore store_;
  platforms::PlatformServices services_{io_.get_executor(), http_, store_};
};

TEST_F(WecomSenderTest, AGroupReplyGoesToTheCallbacksWebhookAndMentionsTheSender) {
  WecomSender sender = make_sender(WecomKind::group);
  ASSERT_TRUE(botgate::test::run_on(io_, sender.prepare()));
  auto sent = send(sender, group_reply("Hello, hi"));
  ASSERT_TRUE(sent) << sent.error().message();
  const auto requests = requests_to("/cgi-bin/webhook/send");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/cgi-bin/webhook/send?key=chat-key");
  EXPECT_EQ(json::parse(requests[0].body()),
            json::parse(R"({"msgtype":"text","text":{"content":"Hello, hi",
                          "mentioned_list":["zhangsan"]}})"));
}

TEST_F(WecomSenderTest, AProactiveGroupMessageGoesToTheConfiguredWebhook) {
  WecomSender sender = make_sender(WecomKind::group);
  OutgoingMessage m = OutgoingMessage::markdown("**daily report**");
  m.chat_id = "chat";
  ASSERT_TRUE(send(sender, m));
  const auto requests = requests_to("/cgi-bin/webhook/send");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/cgi-bin/webhook/send?key=own");
  EXPECT_EQ(json::parse(requests[0].body()),
            json::parse(R"({"msgtype":"markdown","markdown":{"content":"**daily report**"}})"));
}

TEST_F(WecomSenderTest, The21stMessageInAMinuteWaitsWithoutReachingWecom) {
  WecomSender sender = make_sender(WecomKind::group);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(send(sender, group_reply("n" + std::to_string(i))));
  auto sent = send(sender, group_reply("one too many"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::rate_limited)) << sent.error().message();
  ASSERT_TRUE(sent.error().retry_after.has_value());
  EXPECT_GT(*sent.error().retry_after, 0ms);
  EXPECT_LE(*sent.error().retry_after, 61s);
  EXPECT_EQ(requests_to("/cgi-bin/webhook/send").size(), 20u);
  // Another webhook (another group) has its own window.
  OutgoingMessage other = group_reply("other group");
  other.reply_credential = server_.url("/cgi-bin/webhook/send?key=other-key");
  EXPECT_TRUE(send(sender, other));
}

TEST_F(WecomSenderTest, InstancesOnOneStoreShareAWebhooksTwentyAMinute) {
  // Two senders of the bot on one store: two botgate instances on one Redis.
  WecomSender first = make_sender(WecomKind::group);
  WecomSender second = make_sender(WecomKind::group);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(send(i % 2 == 0 ? first : second, group_reply("n" + std::to_string(i)))) << i;
  }
  for (WecomSender* sender : {&first, &second}) {
    auto sent = send(*sender, group_reply("one too many"));
    ASSERT_FALSE(sent);
    EXPECT_TRUE(sent.error().is(errc::rate_limited)) << sent.error().message();
  }
  EXPECT_EQ(requests_to("/cgi-bin/webhook/send").size(), 20u);
}

TEST_F(WecomSenderTest, A45009HoldsTheWebhookForEveryInstance) {
  WecomSender first = make_sender(WecomKind::group);
  WecomSender second = make_sender(WecomKind::group);
  fake_.limited_webhooks = 1;  // something besides botgate posted to the webhook
  auto blocked = send(first, group_reply("blocked"));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().retry_after, std::optional<std::chrono::milliseconds>(60s));
  auto held = send(second, group_reply("held back"));
  ASSERT_FALSE(held);
  EXPECT_TRUE(held.error().is(errc::rate_limited)) << held.error().message();
  EXPECT_GT(held.error().retry_after.value_or(0ms), 59s);
  EXPECT_EQ(requests_to("/cgi-bin/webhook/send").size(), 1u) << "the second never posted";
  OutgoingMessage other = group_reply("other group");
  other.reply_credential = server_.url("/cgi-bin/webhook/send?key=other-key");
  EXPECT_TRUE(send(second, other)) << "another webhook is not held";
}

TEST_F(WecomSenderTest, AStoreWithoutAnAnswerHoldsTheMessageBack) {
  WecomSender sender = make_sender(WecomKind::group);
  store_.fail_rates(1);
  auto sent = send(sender, group_reply("not now"));
  ASSERT_FALSE(sent) << "never sent past a limit it could not check";
  EXPECT_TRUE(sent.error().is(errc::rate_limited)) << sent.error().message();
  EXPECT_EQ(sent.error().retry_after, std::optional<std::chrono::milliseconds>(1s));
  EXPECT_TRUE(requests_to("/cgi-bin/webhook/send").empty());
  EXPECT_TRUE(send(sender, group_reply("now")));
}

TEST_F(WecomSenderTest, AnAppSendsAMemberThirtyAMinute) {
  WecomSender sender = make_sender(WecomKind::app);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(send(sender, app_message("n" + std::to_string(i))));
  auto sent = send(sender, app_message("one too many"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::rate_limited)) << sent.error().message();
  OutgoingMessage other = app_message("another member");
  other.chat_id = "lisi";
  EXPECT_TRUE(send(sender, other));
  EXPECT_EQ(requests_to("/cgi-bin/message/send").size(), 31u);
}

TEST_F(WecomSenderTest, AnImageOver2MbIsRejectedWithoutSending) {
  WecomSender sender = make_sender(WecomKind::group);
  OutgoingMessage m = group_reply("");
  const std::string big(kImageLimit + 1, 'x');
  m.segments = {Image{"data:image/png;base64," + crypto::base64_encode(big)}};
  auto sent = send(sender, m);
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::platform_rejected));
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(WecomSenderTest, AGroupBotWithoutAWebhookCannotSendProactively) {
  WecomConfig config;
  config.kind = WecomKind::group;
  WecomSender bare(config, services_);
  auto sent = send(bare, OutgoingMessage::plain("hi"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::platform_rejected));
}

TEST_F(WecomSenderTest, AnAppSendsWithItsTokenAndRefetchesItOnceWhenRejected) {
  WecomSender sender = make_sender(WecomKind::app);
  ASSERT_TRUE(botgate::test::run_on(io_, sender.prepare()));
  EXPECT_EQ(fake_.tokens, 1);
  fake_.failing_sends = 1;  // 40014: the token is evicted and the send tried again
  auto sent = send(sender, app_message("你的快递已到"));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "msg-1");
  EXPECT_EQ(fake_.tokens, 2);
  const auto sends = requests_to("/cgi-bin/message/send");
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[0].target(), "/cgi-bin/message/send?access_token=tok-1");
  EXPECT_EQ(sends[1].target(), "/cgi-bin/message/send?access_token=tok-2");
  EXPECT_EQ(json::parse(sends[1].body()),
            json::parse(R"({"msgtype":"text","touser":"mycreate","agentid":1000002,
                          "enable_duplicate_check":1,"duplicate_check_interval":300,
                          "text":{"content":"你的快递已到"}})"));
  const auto gettoken = requests_to("/cgi-bin/gettoken");
  ASSERT_FALSE(gettoken.empty());
  EXPECT_EQ(gettoken[0].target(), "/cgi-bin/gettoken?corpid=ww123&corpsecret=secret");
}

TEST_F(WecomSenderTest, AnAppGivesUpAfterTheSecondRejectedToken) {
  WecomSender sender = make_sender(WecomKind::app);
  fake_.failing_sends = 2;
  auto sent = send(sender, app_message("hi"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::token_rejected));
  EXPECT_EQ(requests_to("/cgi-bin/message/send").size(), 2u);
}

TEST_F(WecomSenderTest, AnAppRateLimitIsRateLimited) {
  WecomSender sender = make_sender(WecomKind::app);
  fake_.failing_sends = 1;
  fake_.send_errcode = 45009;
  auto sent = send(sender, app_message("hi"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::rate_limited));
  EXPECT_EQ(sent.error().retry_after, std::optional<std::chrono::milliseconds>(60s));
}

TEST_F(WecomSenderTest, AnAiBotAnswersThroughTheResponseUrl) {
  WecomSender sender = make_sender(WecomKind::aibot);
  OutgoingMessage m = OutgoingMessage::plain("hello");
  m.chat_id = "CHATID";
  m.reply_credential = server_.url("/cgi-bin/aibot/response?response_code=RC");
  ASSERT_TRUE(send(sender, m));
  const auto requests = requests_to("/cgi-bin/aibot/response");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/cgi-bin/aibot/response?response_code=RC");
  EXPECT_EQ(json::parse(requests[0].body()),
            json::parse(R"({"msgtype":"markdown","markdown":{"content":"hello"}})"));
  auto proactive = send(sender, OutgoingMessage::plain("unprompted"));
  ASSERT_FALSE(proactive);
  EXPECT_TRUE(proactive.error().is(errc::platform_rejected));
}

TEST_F(WecomSenderTest, AGroupMessageWhoseAnswerIsLostIsUncertainAndNotSentAgain) {
  // A group webhook has no idempotency key: WeCom read the message, the connection broke.
  WecomSender sender = make_sender(WecomKind::group);
  server_.set_mode(botgate::test::TestServerMode::close_on_request);
  auto sent = send(sender, group_reply("once"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::delivery_uncertain)) << sent.error().message();
  EXPECT_FALSE(is_retryable(sent.error()));
  EXPECT_EQ(requests_to("/cgi-bin/webhook/send").size(), 1u);
}

TEST_F(WecomSenderTest, AnAppMessageWhoseAnswerIsLostIsRetriedUnderTheDuplicateCheck) {
  WecomSender sender = make_sender(WecomKind::app);
  ASSERT_TRUE(botgate::test::run_on(io_, sender.prepare()));
  server_.set_mode(botgate::test::TestServerMode::close_on_request);
  OutgoingMessage m = app_message("hi");
  m.idempotency_key = "event-0";
  auto lost = send(sender, m);
  ASSERT_FALSE(lost);
  EXPECT_TRUE(is_retryable(lost.error())) << lost.error().message();

  server_.set_mode(botgate::test::TestServerMode::answer);
  auto retried = send(sender, m);
  ASSERT_TRUE(retried) << retried.error().message();
  const auto sends = requests_to("/cgi-bin/message/send");
  ASSERT_EQ(sends.size(), 2u);
  for (const HttpRequest& request : sends) {
    const auto body = json::parse(request.body()).as_object();
    EXPECT_EQ(body.at("enable_duplicate_check"), 1);
    EXPECT_EQ(body.at("duplicate_check_interval"), 300);
  }
  EXPECT_EQ(sends[0].body(), sends[1].body());  // identical: WeCom delivers it once
}

TEST_F(WecomSenderTest, AnAiBotsRepliesToOneMessageGoToItsResponseUrlInOnePost) {
  // A response_url takes one POST: a second one is refused, so its reply would be lost.
  WecomSender sender = make_sender(WecomKind::aibot);
  const std::string response_url = server_.url("/cgi-bin/aibot/response?response_code=RC");
  std::vector<OutgoingMessage> replies;
  replies.push_back(OutgoingMessage::plain("first"));
  replies.push_back(OutgoingMessage::markdown("**second**"));
  for (OutgoingMessage& m : replies) m.reply_credential = response_url;

  const auto parts = sender.split_replies(std::move(replies));
  ASSERT_EQ(parts.size(), 1u);
  ASSERT_TRUE(send(sender, parts[0]));
  const auto requests = requests_to("/cgi-bin/aibot/response");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(json::parse(requests[0].body()),
            json::parse(R"({"msgtype":"markdown","markdown":{"content":"first\n\n**second**"}})"));
}

TEST_F(WecomSenderTest, AnAiBotsLongRepliesAreCutToOneMessageOfTheLimit) {
  WecomSender sender = make_sender(WecomKind::aibot);
  std::vector<OutgoingMessage> replies;
  replies.push_back(OutgoingMessage::plain(std::string(15000, 'a')));
  replies.push_back(OutgoingMessage::plain(std::string(15000, 'b')));
  for (OutgoingMessage& m : replies) m.reply_credential = "https://example.test/response?code=1";

  const auto parts = sender.split_replies(std::move(replies));
  ASSERT_EQ(parts.size(), 1u);
  auto content = encode_content(parts[0], WecomKind::aibot);
  ASSERT_TRUE(content);
  EXPECT_LE(content->content.size(), kAibotMarkdownLimit);
  EXPECT_GT(content->content.size(), kAibotMarkdownLimit - 16);
  EXPECT_TRUE(content->content.starts_with(std::string(15000, 'a') + "\n\nbbb"));
  EXPECT_TRUE(content->content.ends_with("…"));
}

TEST_F(WecomSenderTest, OtherKindsSendEachReplyOnItsOwn) {
  WecomSender sender = make_sender(WecomKind::group);
  std::vector<OutgoingMessage> replies{group_reply("one"), group_reply("two")};
  EXPECT_EQ(sender.split_replies(std::move(replies)).size(), 2u);
}

TEST_F(WecomSenderTest, SplitUsesTheKindsLimits) {
  WecomSender sender = make_sender(WecomKind::group);
  EXPECT_EQ(sender.split(group_reply(std::string(5000, 'a'))).size(), 3u);  // text: 2048 bytes
}

}  // namespace
}  // namespace botgate::wecom
