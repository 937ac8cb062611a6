#include "botgate/api/api_auth.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

namespace botgate::api {
namespace {

HttpRequest request_with(std::string_view authorization) {
  HttpRequest request{http::verb::get, "/api/v1/status", 11};
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  return request;
}

TEST(ApiAuth, NoTokenConfiguredLetsEveryRequestIn) {
  EXPECT_TRUE(has_api_token(request_with(""), ""));
  EXPECT_TRUE(has_api_token(request_with("Bearer anything"), ""));
}

TEST(ApiAuth, OnlyTheExactBearerTokenPasses) {
  const std::string token = "s3cret-token";
  EXPECT_TRUE(has_api_token(request_with("Bearer s3cret-token"), token));
  EXPECT_FALSE(has_api_token(request_with(""), token));
  EXPECT_FALSE(has_api_token(request_with("Bearer s3cret-toke"), token)) << "a prefix";
  EXPECT_FALSE(has_api_token(request_with("Bearer s3cret-token2"), token));
  EXPECT_FALSE(has_api_token(request_with("Basic s3cret-token"), token));
  EXPECT_FALSE(has_api_token(request_with("s3cret-token"), token));
  EXPECT_FALSE(has_api_token(request_with("Bearer "), token));
}

TEST(ApiAuth, TheWrappedHandlerRunsOnlyWithTheToken) {
  int calls = 0;
  auto handler = with_api_token("tok", [&calls](const HttpRequest&,
                                                std::string) -> asio::awaitable<HttpResponse> {
    ++calls;
    co_return make_response(http::status::ok, "{}");
  });
  const HttpResponse denied = test::run_sync(handler(request_with("Bearer nope"), ""));
  EXPECT_EQ(denied.result(), http::status::unauthorized);
  EXPECT_EQ(denied[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(denied.body().find("tok"), std::string::npos) << "never echo a token";
  EXPECT_EQ(calls, 0);
  const HttpResponse allowed = test::run_sync(handler(request_with("Bearer tok"), ""));
  EXPECT_EQ(allowed.result(), http::status::ok);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace botgate::api
