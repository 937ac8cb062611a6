#include "botgate/net/http_wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace botgate::net {
namespace {

/// Beast's own serializer, to hold ours against.
template <class Message>
std::string beast_wire(const Message& message) {
  std::ostringstream out;
  out << message;
  return out.str();
}

TEST(SerializeTest, AResponseMatchesBeastsSerializer) {
  std::vector<HttpResponse> responses;
  responses.push_back(make_response(http::status::ok, R"({"ok":true})"));
  responses.push_back(make_response(http::status::not_found, ""));
  HttpResponse old = make_response(http::status::service_unavailable, "busy", "text/plain");
  old.version(10);
  old.keep_alive(true);
  responses.push_back(old);
  HttpResponse custom = make_response(http::status::ok, "x");
  custom.reason("Fine");
  custom.set("X-Many", "1");
  custom.insert("X-Many", "2");
  custom.keep_alive(false);
  responses.push_back(custom);
  HttpResponse unknown = make_response(static_cast<http::status>(599), "?");
  responses.push_back(unknown);
  for (HttpResponse& response : responses) {
    response.set(http::field::server, "botgate");
    response.prepare_payload();
    EXPECT_EQ(serialize(response), beast_wire(response));
  }
  EXPECT_EQ(serialize(responses[0]).substr(0, 17), "HTTP/1.1 200 OK\r\n");
}

TEST(SerializeTest, ARequestHeadAndItsBodyMatchBeastsSerializer) {
  std::vector<HttpRequest> requests;
  HttpRequest post{http::verb::post, "/api/v10/channels/1/messages?wait=true", 11};
  post.set(http::field::host, "discord.com");
  post.set(http::field::authorization, "Bot token");
  post.set(http::field::content_type, "application/json");
  post.body() = R"({"content":"Hello, 你好"})";
  requests.push_back(post);
  HttpRequest get{http::verb::get, "/gateway/bot", 11};
  get.set(http::field::host, "127.0.0.1:8080");
  requests.push_back(get);
  HttpRequest old{http::verb::put, "/x", 10};
  old.set("X-Many", "1");
  old.insert("X-Many", "2");
  old.keep_alive(true);
  old.body() = "body";
  requests.push_back(old);
  HttpRequest custom;
  custom.method_string("PURGE");
  custom.target("/cache");
  custom.keep_alive(false);
  requests.push_back(custom);
  for (HttpRequest& request : requests) {
    request.set(http::field::user_agent, "botgate");
    request.prepare_payload();
    EXPECT_EQ(request_head(request) + request.body(), beast_wire(request))
        << request.method_string() << " " << request.target();
  }
  EXPECT_EQ(request_head(requests[0]).substr(0, 52),
            "POST /api/v10/channels/1/messages?wait=true HTTP/1.1");
  EXPECT_TRUE(request_head(requests[0]).ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace botgate::net
