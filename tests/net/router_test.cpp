#include "botgate/net/router.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::net {
namespace {

using test::run_sync;

/// A handler that answers 200 with "<name>:<param>" and records the call.
RouteHandler answer(std::string name, std::vector<std::string>* calls = nullptr) {
  return [name, calls](const HttpRequest&, std::string param) -> asio::awaitable<HttpResponse> {
    if (calls != nullptr) {
      calls->push_back(name + ":" + param);
    }
    co_return make_response(http::status::ok, name + ":" + param, "text/plain");
  };
}

HttpResponse dispatch(const Router& router, http::verb method, std::string target) {
  const HttpRequest request{method, target, 11};
  return run_sync(router.dispatch(request)).response;
}

Router sample_router(std::vector<std::string>* calls = nullptr) {
  Router router;
  router.add("/healthz", {http::verb::get, http::verb::head}, answer("health", calls));
  router.add("/webhook/{name}", {http::verb::post}, answer("webhook", calls));
  router.add("/any", {}, answer("any", calls));
  return router;
}

TEST(RouterTest, ExactPath) {
  std::vector<std::string> calls;
  const Router router = sample_router(&calls);
  const HttpResponse response = dispatch(router, http::verb::get, "/healthz");
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "health:");
  EXPECT_EQ(calls, (std::vector<std::string>{"health:"}));
  EXPECT_EQ(dispatch(router, http::verb::head, "/healthz").result(), http::status::ok);
}

TEST(RouterTest, ExactPathIgnoresTheQuery) {
  const Router router = sample_router();
  EXPECT_EQ(dispatch(router, http::verb::get, "/healthz?verbose=1").body(), "health:");
}

TEST(RouterTest, ExactPathMustMatchWhole) {
  const Router router = sample_router();
  for (const char* target : {"/healthz/", "/healthzz", "/health", "/HEALTHZ", "/", ""}) {
    EXPECT_EQ(dispatch(router, http::verb::get, target).result(), http::status::not_found)
        << target;
  }
}

TEST(RouterTest, ParamRouteCapturesOneSegment) {
  std::vector<std::string> calls;
  const Router router = sample_router(&calls);
  EXPECT_EQ(dispatch(router, http::verb::post, "/webhook/feishu").body(), "webhook:feishu");
  EXPECT_EQ(dispatch(router, http::verb::post, "/webhook/qq-1?sig=abc").body(), "webhook:qq-1");
  EXPECT_EQ(calls, (std::vector<std::string>{"webhook:feishu", "webhook:qq-1"}));
}

TEST(RouterTest, ParamMustBeOneNonEmptySegment) {
  std::vector<std::string> calls;
  const Router router = sample_router(&calls);
  for (const char* target : {"/webhook/", "/webhook", "/webhook/a/b", "/webhook//", "/webhooks/a",
                             "/webhook/?x=1"}) {
    EXPECT_EQ(dispatch(router, http::verb::post, target).result(), http::status::not_found)
        << target;
  }
  EXPECT_TRUE(calls.empty());
}

TEST(RouterTest, AParamMayBeFollowedByASuffix) {
  Router router;
  router.add("/items/{id}/retry", {http::verb::post}, answer("retry"));
  router.add("/items/{id}", {http::verb::get}, answer("item"));
  EXPECT_EQ(dispatch(router, http::verb::post, "/items/42/retry").body(), "retry:42");
  EXPECT_EQ(dispatch(router, http::verb::get, "/items/42").body(), "item:42");
  for (const char* target : {"/items//retry", "/items/4/2/retry", "/items/42/retryx",
                             "/items/42/retry/"}) {
    EXPECT_EQ(dispatch(router, http::verb::post, target).result(), http::status::not_found)
        << target;
  }
}

TEST(RouterTest, NotFoundIsJson404) {
  const Router router = sample_router();
  const HttpResponse response = dispatch(router, http::verb::get, "/nothing/here");
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_FALSE(response.body().empty());
}

TEST(RouterTest, WrongMethodIs405AndTheHandlerDoesNotRun) {
  std::vector<std::string> calls;
  const Router router = sample_router(&calls);
  EXPECT_EQ(dispatch(router, http::verb::post, "/healthz").result(),
            http::status::method_not_allowed);
  EXPECT_EQ(dispatch(router, http::verb::get, "/webhook/feishu").result(),
            http::status::method_not_allowed);
  EXPECT_EQ(dispatch(router, http::verb::delete_, "/webhook/feishu").result(),
            http::status::method_not_allowed);
  EXPECT_TRUE(calls.empty());
}

TEST(RouterTest, NoMethodsMeansEveryMethod) {
  const Router router = sample_router();
  for (http::verb method : {http::verb::get, http::verb::post, http::verb::put,
                            http::verb::delete_, http::verb::options}) {
    EXPECT_EQ(dispatch(router, method, "/any").result(), http::status::ok);
  }
}

TEST(RouterTest, EmptyRouterAnswers404) {
  const Router router;
  EXPECT_EQ(dispatch(router, http::verb::get, "/").result(), http::status::not_found);
}

TEST(RouterTest, HandlerSeesTheRequest) {
  Router router;
  router.add("/echo", {http::verb::post},
             [](const HttpRequest& request, std::string) -> asio::awaitable<HttpResponse> {
               co_return make_response(http::status::created, request.body(), "text/plain");
             });
  HttpRequest request{http::verb::post, "/echo", 11};
  request.body() = "payload";
  const HttpResponse response = run_sync(router.dispatch(request)).response;
  EXPECT_EQ(response.result(), http::status::created);
  EXPECT_EQ(response.body(), "payload");
}

TEST(RouterTest, AnAnsweringRouteKeepsItsAfterWrite) {
  Router router;
  std::vector<bool> writes;
  router.add_answering("/webhook/{name}", {http::verb::post},
                       [&writes](const HttpRequest&,
                                 std::string name) -> asio::awaitable<HttpAnswer> {
                         HttpAnswer answer = make_response(http::status::ok, name, "text/plain");
                         answer.after_write = [&writes](bool written) { writes.push_back(written); };
                         co_return answer;
                       });
  router.add("/healthz", {}, answer("health"));
  const HttpRequest request{http::verb::post, "/webhook/discord", 11};
  HttpAnswer answered = run_sync(router.dispatch(request));
  EXPECT_EQ(answered.response.body(), "discord");
  ASSERT_TRUE(answered.after_write);
  answered.after_write(true);
  EXPECT_EQ(writes, std::vector<bool>{true});
  EXPECT_FALSE(run_sync(router.dispatch(HttpRequest{http::verb::get, "/healthz", 11})).after_write);
  // The method check applies to answering routes too.
  EXPECT_EQ(dispatch(router, http::verb::get, "/webhook/discord").result(),
            http::status::method_not_allowed);
  EXPECT_TRUE(writes.size() == 1);
}

TEST(RouterTest, ParamRoutesWithDifferentPrefixes) {
  Router router;
  router.add("/api/v1/messages/{id}", {http::verb::get}, answer("message"));
  router.add("/webhook/{name}", {}, answer("webhook"));
  EXPECT_EQ(dispatch(router, http::verb::get, "/api/v1/messages/42").body(), "message:42");
  EXPECT_EQ(dispatch(router, http::verb::get, "/webhook/x").body(), "webhook:x");
  EXPECT_EQ(dispatch(router, http::verb::get, "/api/v1/messages").result(),
            http::status::not_found);
}

}  // namespace
}  // namespace botgate::net
