#include "botgate/platforms/feishu/feishu_sender.hpp"

#include "support/platform_test_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

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

}  // namespace
}  // namespace botgate::feishu
