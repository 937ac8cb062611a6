#include "botgate/api/api_auth.hpp"

#include "support/run_sync.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace botgate::api {
namespace {

namespace json = boost::json;

HttpRequest request_with(std::string_view authorization, std::string_view host = "127.0.0.1:8080",
                         http::verb verb = http::verb::get) {
  HttpRequest request{verb, "/api/v1/status", 11};
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  if (!host.empty()) request.set(http::field::host, host);
  return request;
}

ApiAccess access_for(std::string_view listen_host, std::uint16_t port,
                     std::string token = "zq7-secret") {
  ApiAccess access;
  access.set_token(std::move(token));
  access.add_listen(listen_host, port);
  return access;
}

TEST(ApiAuth, WithoutATokenNothingPasses) {
  ApiAccess access;  // no token set: the servers never start like this, but it must not open up
  EXPECT_FALSE(access.has_token(request_with("")));
  EXPECT_FALSE(access.has_token(request_with("Bearer ")));
  EXPECT_FALSE(access.has_token(request_with("Bearer anything")));
}

TEST(ApiAuth, OnlyTheExactBearerTokenPasses) {
  const ApiAccess access = access_for("127.0.0.1", 8080, "s3cret-token");
  EXPECT_TRUE(access.has_token(request_with("Bearer s3cret-token")));
  EXPECT_FALSE(access.has_token(request_with("")));
  EXPECT_FALSE(access.has_token(request_with("Bearer s3cret-toke"))) << "a prefix";
  EXPECT_FALSE(access.has_token(request_with("Bearer s3cret-token2")));
  EXPECT_FALSE(access.has_token(request_with("Basic s3cret-token")));
  EXPECT_FALSE(access.has_token(request_with("s3cret-token")));
  EXPECT_FALSE(access.has_token(request_with("Bearer ")));
}

TEST(ApiAuth, ParsesHostHeaders) {
  auto plain = parse_host("Bot.Example.COM");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->name, "bot.example.com");
  EXPECT_FALSE(plain->port);
  auto with_port = parse_host("localhost:8080");
  ASSERT_TRUE(with_port);
  EXPECT_EQ(with_port->name, "localhost");
  EXPECT_EQ(with_port->port, 8080);
  auto v6 = parse_host("[::1]:9");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->name, "::1");
  EXPECT_EQ(v6->port, 9);
  for (std::string_view bad : {"", ":80", "host:", "host:0", "host:65536", "host:8o", "::1",
                               "[::1", "[::1]x", "[nope]:80", "a b", "a/b", "a@b", "[]:80"}) {
    EXPECT_FALSE(parse_host(bad)) << bad;
  }
}

TEST(ApiAuth, ALoopbackListenAcceptsItsAddressAndTheLoopbackNamesOnItsPort) {
  const ApiAccess access = access_for("127.0.0.1", 8080);
  for (std::string_view host : {"127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080",
                                "[::1]:8080"}) {
    EXPECT_TRUE(access.host_allowed(request_with("", host))) << host;
  }
  for (std::string_view host : {"", "127.0.0.1:8081", "127.0.0.1", "localhost",
                                "attacker.example:8080", "attacker.example", "127.0.0.2:8080",
                                "192.168.1.5:8080", "localhost.attacker.example:8080"}) {
    EXPECT_FALSE(access.host_allowed(request_with("", host))) << host;
  }
}

TEST(ApiAuth, AnIpv6LoopbackListenIsALoopbackListen) {
  const ApiAccess access = access_for("::1", 8080);
  EXPECT_TRUE(access.host_allowed(request_with("", "[::1]:8080")));
  EXPECT_TRUE(access.host_allowed(request_with("", "localhost:8080")));
  EXPECT_FALSE(access.host_allowed(request_with("", "evil.example:8080")));
}

TEST(ApiAuth, APublicListenAcceptsOnlyItsOwnAddress) {
  const ApiAccess access = access_for("192.0.2.10", 8080);
  EXPECT_TRUE(access.host_allowed(request_with("", "192.0.2.10:8080")));
  EXPECT_FALSE(access.host_allowed(request_with("", "localhost:8080")));
  EXPECT_FALSE(access.host_allowed(request_with("", "192.0.2.11:8080")));
}

TEST(ApiAuth, AWildcardListenAcceptsAddressesButNoName) {
  // A rebinding attack sends the attacker's DNS name: any IP address on the port is safe.
  const ApiAccess access = access_for("0.0.0.0", 80);
  EXPECT_TRUE(access.host_allowed(request_with("", "10.1.2.3")));
  EXPECT_TRUE(access.host_allowed(request_with("", "10.1.2.3:80")));
  EXPECT_TRUE(access.host_allowed(request_with("", "[2001:db8::1]")));
  EXPECT_TRUE(access.host_allowed(request_with("", "localhost")));
  EXPECT_FALSE(access.host_allowed(request_with("", "10.1.2.3:81")));
  EXPECT_FALSE(access.host_allowed(request_with("", "rebound.example")));
}

TEST(ApiAuth, AllowedHostsAddNamesWithAnyPortOrOne) {
  ApiAccess access = access_for("127.0.0.1", 8080);
  access.add_allowed_hosts({"Bot.Example.com", "console.example.com:8443", "bad host"});
  EXPECT_TRUE(access.host_allowed(request_with("", "bot.example.com")));
  EXPECT_TRUE(access.host_allowed(request_with("", "bot.example.com:443")));
  EXPECT_TRUE(access.host_allowed(request_with("", "console.example.com:8443")));
  EXPECT_FALSE(access.host_allowed(request_with("", "console.example.com")));
  EXPECT_FALSE(access.host_allowed(request_with("", "console.example.com:443")));
  EXPECT_FALSE(access.host_allowed(request_with("", "example.com")));
}

TEST(ApiAuth, JsonContentTypes) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("Application/JSON"));
  EXPECT_TRUE(is_json_content_type(" application/json ;charset=UTF-8"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("text/plain; a=application/json"));
  EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_json_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_json_content_type("application/jsonp"));
}

class GuardedHandler : public ::testing::Test {
 protected:
  GuardedHandler() : access_(access_for("127.0.0.1", 8080)) {
    handler_ = with_api_token(access_, [this](const HttpRequest&,
                                              std::string) -> asio::awaitable<HttpResponse> {
      ++calls_;
      co_return make_response(http::status::ok, "{}");
    });
  }
  HttpResponse call(HttpRequest request) { return test::run_sync(handler_(request, "")); }

  ApiAccess access_;
  net::RouteHandler handler_;
  int calls_ = 0;
};

TEST_F(GuardedHandler, RunsOnlyWithTheToken) {
  const HttpResponse denied = call(request_with("Bearer nope"));
  EXPECT_EQ(denied.result(), http::status::unauthorized);
  EXPECT_EQ(denied[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(json::parse(denied.body()).at("error").as_string(), "unauthorized");
  EXPECT_EQ(denied.body().find("zq7"), std::string::npos) << "never echo a token";
  EXPECT_EQ(calls_, 0);
  const HttpResponse allowed = call(request_with("Bearer zq7-secret"));
  EXPECT_EQ(allowed.result(), http::status::ok);
  EXPECT_EQ(calls_, 1);
}

TEST_F(GuardedHandler, AnotherHostIsMisdirectedEvenWithTheToken) {
  const HttpResponse refused = call(request_with("Bearer zq7-secret", "rebound.example:8080"));
  EXPECT_EQ(refused.result(), http::status::misdirected_request);
  EXPECT_EQ(json::parse(refused.body()).at("error").as_string(), "misdirected_request");
  EXPECT_EQ(call(request_with("Bearer zq7-secret", "")).result(),
            http::status::misdirected_request)
      << "no Host at all";
  EXPECT_EQ(calls_, 0);
}

TEST_F(GuardedHandler, ABodyMustBeJson) {
  for (std::string_view type : {"", "text/plain", "application/x-www-form-urlencoded",
                                "multipart/form-data; boundary=b"}) {
    HttpRequest request = request_with("Bearer zq7-secret", "127.0.0.1:8080", http::verb::post);
    if (!type.empty()) request.set(http::field::content_type, type);
    request.body() = R"({"text":"hi"})";
    request.prepare_payload();
    const HttpResponse refused = call(request);
    EXPECT_EQ(refused.result(), http::status::unsupported_media_type) << type;
    EXPECT_EQ(json::parse(refused.body()).at("error").as_string(), "unsupported_media_type");
  }
  EXPECT_EQ(calls_, 0);
  HttpRequest request = request_with("Bearer zq7-secret", "127.0.0.1:8080", http::verb::post);
  request.set(http::field::content_type, "application/json; charset=utf-8");
  request.body() = R"({"text":"hi"})";
  request.prepare_payload();
  EXPECT_EQ(call(request).result(), http::status::ok);
  EXPECT_EQ(calls_, 1);
}

TEST_F(GuardedHandler, AnswersCarryNoCorsHeaders) {
  for (const HttpResponse& response :
       {call(request_with("Bearer zq7-secret")), call(request_with("")),
        call(request_with("Bearer zq7-secret", "rebound.example"))}) {
    for (const auto& field : response) {
      EXPECT_FALSE(std::string(field.name_string()).starts_with("Access-Control"))
          << field.name_string();
    }
  }
}

TEST(ApiAuth, ThePageNeedsOnlyAnAcceptedHost) {
  const ApiAccess access = access_for("127.0.0.1", 8080);
  int calls = 0;
  auto page = with_allowed_host(access, [&calls](const HttpRequest&,
                                                 std::string) -> asio::awaitable<HttpResponse> {
    ++calls;
    co_return make_response(http::status::ok, "<html>", "text/html");
  });
  EXPECT_EQ(test::run_sync(page(request_with(""), "")).result(), http::status::ok);
  EXPECT_EQ(test::run_sync(page(request_with("", "rebound.example:8080"), "")).result(),
            http::status::misdirected_request);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace botgate::api
