#include "botgate/platforms/feishu/feishu_sender.hpp"

#include "botgate/net/http_client.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace botgate::feishu {
namespace {

using ::botgate::test::fails_with;
using ::botgate::test::json_response;

TEST(FeishuSendResponseTest, CodeZeroGivesTheMessageId) {
  auto result = read_send_response(json_response(http::status::ok, R"({"code":0,"msg":"success",
      "data":{"message_id":"om_dc13264520392913993dd051dba21dcf","chat_id":"oc_1",
      "msg_type":"text"}})"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(*result, "om_dc13264520392913993dd051dba21dcf");
}

TEST(FeishuSendResponseTest, Http429WithResetHeaderIsRateLimitedForThatLong) {
  HttpResponse r = json_response(http::status::too_many_requests,
                                 R"({"code":99991400,"msg":"request trigger frequency limit"})");
  r.set("x-ogw-ratelimit-limit", "50");
  r.set("x-ogw-ratelimit-reset", "3");
  auto result = read_send_response(r);
  ASSERT_TRUE(fails_with(result, errc::rate_limited));
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_EQ(*result.error().retry_after, std::chrono::seconds(3));
  EXPECT_TRUE(is_retryable(result.error()));
}

TEST(FeishuSendResponseTest, Http429WithoutJsonIsRateLimited) {
  HttpResponse r = json_response(http::status::too_many_requests, "Too Many Requests");
  r.set("x-ogw-ratelimit-reset", "7");
  auto result = read_send_response(r);
  ASSERT_TRUE(fails_with(result, errc::rate_limited));
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_EQ(*result.error().retry_after, std::chrono::seconds(7));
}

TEST(FeishuSendResponseTest, RateLimitCodesOnHttp400AreRateLimited) {
  for (const char* body : {R"({"code":99991400,"msg":"request trigger frequency limit"})",
                           R"({"code":230020,"msg":"message send rate limit"})"}) {
    auto result = read_send_response(json_response(http::status::bad_request, body));
    ASSERT_TRUE(fails_with(result, errc::rate_limited)) << body;
    // No reset header: a short default wait rather than none.
    ASSERT_TRUE(result.error().retry_after.has_value()) << body;
    EXPECT_GT(*result.error().retry_after, std::chrono::milliseconds(0)) << body;
    EXPECT_TRUE(is_retryable(result.error())) << body;
  }
}

TEST(FeishuSendResponseTest, UnusableResetHeaderFallsBackToAShortWait) {
  for (const char* reset : {"soon", "-5", "0", ""}) {
    HttpResponse r = json_response(http::status::too_many_requests, R"({"code":99991400})");
    r.set("x-ogw-ratelimit-reset", reset);
    auto result = read_send_response(r);
    ASSERT_TRUE(fails_with(result, errc::rate_limited)) << reset;
    ASSERT_TRUE(result.error().retry_after.has_value()) << reset;
    EXPECT_EQ(*result.error().retry_after, std::chrono::seconds(1)) << reset;
  }
}

TEST(FeishuSendResponseTest, HugeResetHeaderIsCapped) {
  HttpResponse r = json_response(http::status::too_many_requests, R"({"code":99991400})");
  r.set("x-ogw-ratelimit-reset", "86400");
  auto result = read_send_response(r);
  ASSERT_TRUE(fails_with(result, errc::rate_limited));
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_LE(*result.error().retry_after, std::chrono::hours(1));
}

TEST(FeishuSendResponseTest, TokenCodesAreTokenRejected) {
  for (int code : {99991663, 99991664, 99991671, 99991661}) {
    const std::string body = R"({"code":)" + std::to_string(code) + R"(,"msg":"invalid token"})";
    auto result = read_send_response(json_response(http::status::bad_request, body));
    ASSERT_TRUE(fails_with(result, errc::token_rejected)) << code;
    EXPECT_TRUE(is_retryable(result.error())) << code;
    EXPECT_NE(result.error().detail.find(std::to_string(code)), std::string::npos)
        << result.error().detail;
  }
}

TEST(FeishuSendResponseTest, Http503WithoutJsonIsPlatformUnavailable) {
  HttpResponse r{http::status::service_unavailable, 11};
  r.set(http::field::content_type, "text/html");
  r.body() = "<html><body>503 Service Unavailable</body></html>";
  r.prepare_payload();
  auto result = read_send_response(r);
  ASSERT_TRUE(fails_with(result, errc::platform_unavailable));
  EXPECT_NE(result.error().detail.find("503"), std::string::npos) << result.error().detail;
  EXPECT_TRUE(is_retryable(result.error()));
}

TEST(FeishuSendResponseTest, Http500WithAnErrorCodeIsPlatformUnavailable) {
  auto result = read_send_response(json_response(http::status::internal_server_error,
                                                 R"({"code":1500,"msg":"internal error"})"));
  ASSERT_TRUE(fails_with(result, errc::platform_unavailable));
  EXPECT_TRUE(is_retryable(result.error()));
}

TEST(FeishuSendResponseTest, BusinessErrorCodeIsPlatformRejectedWithTheCode) {
  auto result = read_send_response(
      json_response(http::status::bad_request,
                    R"({"code":230002,"msg":"Bot/User can NOT be out of the chat."})"));
  ASSERT_TRUE(fails_with(result, errc::platform_rejected));
  EXPECT_NE(result.error().detail.find("230002"), std::string::npos) << result.error().detail;
  EXPECT_NE(result.error().detail.find("out of the chat"), std::string::npos)
      << result.error().detail;
  EXPECT_FALSE(is_retryable(result.error()));
}

TEST(FeishuSendResponseTest, NonZeroCodeOnHttp200IsPlatformRejected) {
  auto result = read_send_response(
      json_response(http::status::ok, R"({"code":230001,"msg":"invalid request parameter"})"));
  ASSERT_TRUE(fails_with(result, errc::platform_rejected));
  EXPECT_FALSE(is_retryable(result.error()));
}

// --- sending through a loopback Open API ---------------------------------------------------------

/// Answers the token and bot-info calls and accepts every message.
HttpResponse fake_open_api(const HttpRequest& request) {
  const std::string_view target = request.target();
  if (target == "/open-apis/auth/v3/tenant_access_token/internal") {
    return json_response(http::status::ok,
                         R"({"code":0,"msg":"ok","tenant_access_token":"t-1","expire":7200})");
  }
  if (target == "/open-apis/bot/v3/info") {
    return json_response(http::status::ok, R"({"code":0,"bot":{"open_id":"ou_bot"}})");
  }
  return json_response(http::status::ok, R"({"code":0,"msg":"success",
      "data":{"message_id":"om_sent"}})");
}

class FeishuSenderTest : public ::testing::Test {
 protected:
  FeishuSenderTest()
      : server_({}, fake_open_api), http_(io_.get_executor(), net::HttpClientOptions{}) {}

  FeishuSender make_sender() {
    FeishuConfig config;
    config.bot_name = "feishu";
    config.platform = "feishu";
    config.api_base = server_.url("");
    config.app_id = "cli_test";
    config.app_secret = "secret-123";
    config.verification_token = "v3rif1cat10n";
    return FeishuSender(config, services_, identity_);
  }

  static OutgoingMessage reply_to(std::string message_id) {
    OutgoingMessage m = OutgoingMessage::plain("hi");
    m.chat_id = "oc_chat";
    m.chat_type = ChatType::group;
    m.reply_to = std::move(message_id);
    return m;
  }

  std::vector<std::string> message_targets() const {
    std::vector<std::string> out;
    for (const HttpRequest& r : server_.requests()) {
      const std::string target(r.target());
      if (target.starts_with("/open-apis/im/")) out.push_back(target);
    }
    return out;
  }

  botgate::test::TestHttpServer server_;
  boost::asio::io_context io_;
  net::HttpClient http_;
  botgate::test::MemoryStore store_;
  platforms::PlatformServices services_{io_.get_executor(), http_, store_};
  std::shared_ptr<BotIdentity> identity_ = std::make_shared<BotIdentity>();
};

TEST_F(FeishuSenderTest, AReplyGoesToTheReplyApiOfThatMessage) {
  FeishuSender sender = make_sender();
  const std::string id = "om_dc13264520392913993dd051dba21dcf";
  auto sent = botgate::test::run_on(io_, sender.send(reply_to(id)));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "om_sent");
  EXPECT_EQ(message_targets(),
            (std::vector<std::string>{"/open-apis/im/v1/messages/" + id + "/reply"}));
}

TEST_F(FeishuSenderTest, AReplyToCannotChangeThePath) {
  // The id is one path segment whatever it holds: no segment, query or fragment of its own.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"om_a/../../chats", "om_a%2F..%2F..%2Fchats"},
      {"om_a?receive_id_type=chat_id", "om_a%3Freceive_id_type%3Dchat_id"},
      {"om_a#fragment", "om_a%23fragment"},
      {"om_%2F%2e%2e", "om_%252F%252e%252e"},
      {"../chats/oc_x", "..%2Fchats%2Foc_x"},
      {"om_a b\r\nX: y", "om_a%20b%0D%0AX%3A%20y"},
  };
  FeishuSender sender = make_sender();
  for (const auto& [id, segment] : cases) {
    auto sent = botgate::test::run_on(io_, sender.send(reply_to(id)));
    ASSERT_TRUE(sent) << id << ": " << sent.error().message();
    const std::vector<std::string> targets = message_targets();
    ASSERT_FALSE(targets.empty()) << id;
    EXPECT_EQ(targets.back(), "/open-apis/im/v1/messages/" + segment + "/reply") << id;
  }
}

TEST_F(FeishuSenderTest, AnAppSendsAtMostFiftyMessagesASecondCountedInTheStore) {
  FeishuSender sender = make_sender();
  for (int i = 0; i < 50; ++i) {
    auto sent = botgate::test::run_on(io_, sender.send(reply_to("om_" + std::to_string(i))));
    ASSERT_TRUE(sent) << i << ": " << sent.error().message();
  }
  auto refused = botgate::test::run_on(io_, sender.send(reply_to("om_51")));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::rate_limited)) << refused.error().message();
  ASSERT_TRUE(refused.error().retry_after);
  EXPECT_GT(*refused.error().retry_after, std::chrono::milliseconds(0));
  EXPECT_LE(*refused.error().retry_after, std::chrono::milliseconds(1100));
  EXPECT_EQ(message_targets().size(), 50u) << "the 51st never reached Feishu";

  // Another sender of the same app on the same store (another instance) is refused too.
  FeishuSender other = make_sender();
  auto also = botgate::test::run_on(io_, other.send(reply_to("om_52")));
  ASSERT_FALSE(also);
  EXPECT_TRUE(also.error().is(errc::rate_limited));
  EXPECT_EQ(message_targets().size(), 50u);
}

TEST_F(FeishuSenderTest, ADotSegmentIsNotAMessageId) {
  // "." and ".." would be removed by URL normalisation, turning the reply into another call.
  FeishuSender sender = make_sender();
  for (const std::string id : {".", ".."}) {
    auto sent = botgate::test::run_on(io_, sender.send(reply_to(id)));
    ASSERT_FALSE(sent) << id;
    EXPECT_TRUE(sent.error().is(errc::platform_rejected)) << id << ": " << sent.error().message();
  }
  EXPECT_TRUE(message_targets().empty());
}

}  // namespace
}  // namespace botgate::feishu
