#include "botgate/platforms/qq/qq_token.hpp"

#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;
using ::botgate::test::json_response;

const std::string kAppId = "102000000";
const std::string kSecret = "SeCrEtSeCrEt0123";

class QqTokenTest : public ::testing::Test {
 protected:
  QqTokenTest()
      : server_({}, [this](const HttpRequest&) { return next_answer(); }),
        http_(io_.get_executor(), net::HttpClientOptions{}) {}

  QqConfig config() const {
    QqConfig c;
    c.bot_name = "qq-bot";
    c.token_url = server_.url("/app/getAppAccessToken");
    c.app_id = kAppId;
    c.app_secret = kSecret;
    return c;
  }

  void answer_with(HttpResponse response) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(response);
  }

  Result<net::FetchedToken> fetch() {
    return botgate::test::run_on(io_, fetch_qq_token(http_, config()));
  }

  static void expect_no_secret(const Result<net::FetchedToken>& result) {
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().is(errc::token_unavailable)) << result.error().message();
    EXPECT_EQ(result.error().detail.find(kSecret), std::string::npos) << result.error().detail;
  }

  HttpResponse next_answer() {
    std::lock_guard lock(mutex_);
    return answer_;
  }

  std::mutex mutex_;
  HttpResponse answer_ =
      json_response(http::status::ok, R"({"access_token":"ACCESS_TOKEN","expires_in":"7200"})");
  botgate::test::TestHttpServer server_;
  boost::asio::io_context io_;
  net::HttpClient http_;
};

TEST_F(QqTokenTest, PostsAppIdAndSecretAsJsonAndReadsAStringLifetime) {
  const auto token = fetch();
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->value, "ACCESS_TOKEN");
  EXPECT_EQ(token->expires_in, std::chrono::seconds(7200));

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& request = requests[0];
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request.target(), "/app/getAppAccessToken");
  // Without this header QQ answers 100007 appid invalid (notes pitfall 6).
  EXPECT_EQ(request[http::field::content_type], "application/json");
  const json::object body = json::parse(request.body()).as_object();
  EXPECT_EQ(body.size(), 2u);
  EXPECT_EQ(body.at("appId").as_string(), kAppId);
  EXPECT_EQ(body.at("clientSecret").as_string(), kSecret);
}

TEST_F(QqTokenTest, ANumericLifetimeIsAcceptedToo) {
  answer_with(json_response(http::status::ok, R"({"access_token":"T2","expires_in":1222})"));
  const auto token = fetch();
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->value, "T2");
  EXPECT_EQ(token->expires_in, std::chrono::seconds(1222));
}

TEST_F(QqTokenTest, APlatformErrorKeepsCodeAndMessageButNotTheSecret) {
  answer_with(json_response(http::status::ok, R"({"code":100007,"message":"appid invalid"})"));
  const auto token = fetch();
  expect_no_secret(token);
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().detail.find("100007"), std::string::npos) << token.error().detail;
  EXPECT_NE(token.error().detail.find("appid invalid"), std::string::npos);
  EXPECT_NE(token.error().detail.find(kAppId), std::string::npos);
}

TEST_F(QqTokenTest, AnHttpErrorWithoutJsonNamesTheStatus) {
  answer_with(json_response(http::status::bad_gateway, "<html>bad gateway</html>"));
  const auto token = fetch();
  expect_no_secret(token);
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().detail.find("HTTP 502"), std::string::npos) << token.error().detail;
}

TEST_F(QqTokenTest, AnUnreachableEndpointIsUnavailable) {
  QqConfig c = config();
  c.token_url = "http://127.0.0.1:1/app/getAppAccessToken";
  const auto token = botgate::test::run_on(io_, fetch_qq_token(http_, c));
  expect_no_secret(token);
}

TEST_F(QqTokenTest, TheFetcherWorksThroughItsOwnCopy) {
  net::TokenFetcher fetcher = qq_token_fetcher(http_, config());
  const auto first = botgate::test::run_on(io_, fetcher());
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->value, "ACCESS_TOKEN");
  answer_with(json_response(http::status::ok, R"({"access_token":"NEXT","expires_in":"60"})"));
  const auto second = botgate::test::run_on(io_, fetcher());
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->value, "NEXT");
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST(QqTokenResponseTest, AnswersWithoutATokenOrLifetimeAreRefused) {
  const std::vector<std::string> bodies{
      R"({"expires_in":"7200"})",
      R"({"access_token":"","expires_in":"7200"})",
      R"({"access_token":"T"})",
      R"({"access_token":"T","expires_in":"0"})",
      R"({"access_token":"T","expires_in":"-5"})",
      R"({"access_token":"T","expires_in":"72s"})",
      R"({"access_token":"T","expires_in":true})",
      R"({"code":11251,"message":"wrong appid","access_token":"T","expires_in":"7200"})",
      R"(["not","an","object"])",
  };
  for (const std::string& body : bodies) {
    const auto token = read_qq_token_response(json_response(http::status::ok, body));
    ASSERT_FALSE(token) << body;
    EXPECT_TRUE(token.error().is(errc::token_unavailable)) << body;
  }
  // code 0 alongside the token is a success.
  const auto ok = read_qq_token_response(
      json_response(http::status::ok, R"({"code":0,"access_token":"T","expires_in":"30"})"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->expires_in, std::chrono::seconds(30));
}

TEST(QqAuthorizationTest, IsQQBotAndTheToken) {
  EXPECT_EQ(qq_authorization("ACCESS_TOKEN"), "QQBot ACCESS_TOKEN");
}

}  // namespace
}  // namespace botgate::qq
