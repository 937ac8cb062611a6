#include "botgate/net/http_server.hpp"

#include "support/run_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace botgate::net {
namespace {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::run_on;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxBody = 64;
constexpr auto kHeaderTimeout = 200ms;

/// A raw client connection: whatever bytes the test writes, and Beast to read the answers.
struct Client {
  explicit Client(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

asio::awaitable<bool> connect(Client& client, std::uint16_t port) {
  const tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), port};
  client.stream.expires_after(5s);
  auto [ec] = co_await client.stream.async_connect(endpoint, kTuple);
  co_return !ec;
}

asio::awaitable<bool> write_raw(Client& client, std::string bytes) {
  client.stream.expires_after(5s);
  auto [ec, n] = co_await asio::async_write(client.stream, asio::buffer(bytes), kTuple);
  co_return !ec;
}

asio::awaitable<std::optional<HttpResponse>> read_response(Client& client) {
  HttpResponse response;
  client.stream.expires_after(5s);
  auto [ec, n] = co_await http::async_read(client.stream, client.buffer, response, kTuple);
  if (ec) {
    co_return std::nullopt;
  }
  co_return response;
}

/// Reads until the server closes the connection; returns true when it did (within 5 s) and
/// sent nothing more.
asio::awaitable<bool> closed_by_server(Client& client) {
  if (client.buffer.size() != 0) {
    co_return false;
  }
  std::array<char, 256> scratch{};
  client.stream.expires_after(5s);
  auto [ec, n] = co_await client.stream.async_read_some(asio::buffer(scratch), kTuple);
  co_return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
}

std::string get_request(std::string target, std::string extra_headers = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

std::string post_request(std::string target, std::string body, std::string extra_headers = {}) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

/// Every test runs twice: each connection on a strand of its own (several threads), and on the
/// io_context's executor (one thread).
class HttpServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    router_.add("/healthz", {http::verb::get}, [](const HttpRequest&, std::string)
                                                   -> asio::awaitable<HttpResponse> {
      co_return make_response(http::status::ok, "ok", "text/plain");
    });
    router_.add("/echo/{name}", {http::verb::post},
                [this](const HttpRequest& request,
                       std::string name) -> asio::awaitable<HttpResponse> {
                  ++handled_;
                  co_return make_response(http::status::ok, name + ":" + request.body(),
                                          "text/plain");
                });
  }

  void start(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    if (options.max_body_bytes == HttpServerOptions{}.max_body_bytes) {
      options.max_body_bytes = kMaxBody;
    }
    options.header_timeout = kHeaderTimeout;
    options.strand_per_connection = GetParam();
    server_ = std::make_unique<HttpServer>(io_, router_, options);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message();
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
    }
    // Let the sessions see the end of their connections before the server goes.
    io_.restart();
    io_.run_for(50ms);
    server_.reset();
  }

  asio::io_context io_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  int handled_ = 0;
};

TEST_P(HttpServerTest, AnswersThroughTheRouter) {
  start();
  const bool ok = run_on(io_, [this]() -> asio::awaitable<bool> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, get_request("/healthz")));
    auto response = co_await read_response(client);
    if (!response) {
      co_return false;
    }
    EXPECT_EQ(response->result(), http::status::ok);
    EXPECT_EQ(response->body(), "ok");
    EXPECT_EQ((*response)[http::field::server], "botgate");
    EXPECT_EQ(response->version(), 11u);
    co_return true;
  }());
  EXPECT_TRUE(ok);
}

TEST_P(HttpServerTest, NotFoundAndMethodNotAllowed) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, get_request("/nope")));
    auto not_found = co_await read_response(client);
    EXPECT_TRUE(not_found && not_found->result() == http::status::not_found);
    EXPECT_TRUE(co_await write_raw(client, get_request("/echo/x")));
    auto not_allowed = co_await read_response(client);
    EXPECT_TRUE(not_allowed && not_allowed->result() == http::status::method_not_allowed);
  }());
  EXPECT_EQ(handled_, 0);
}

TEST_P(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, post_request("/echo/a", "one")));
    auto first = co_await read_response(client);
    EXPECT_TRUE(first);
    if (first) {
      EXPECT_EQ(first->body(), "a:one");
      EXPECT_TRUE(first->keep_alive());
    }
    EXPECT_TRUE(co_await write_raw(client, post_request("/echo/b", "two")));
    auto second = co_await read_response(client);
    EXPECT_TRUE(second);
    if (second) {
      EXPECT_EQ(second->body(), "b:two");
    }
  }());
  EXPECT_EQ(handled_, 2);
}

TEST_P(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    const std::string three =
        post_request("/echo/a", "1") + post_request("/echo/b", "2") + get_request("/healthz");
    EXPECT_TRUE(co_await write_raw(client, three));
    auto first = co_await read_response(client);
    auto second = co_await read_response(client);
    auto third = co_await read_response(client);
    EXPECT_TRUE(first && first->body() == "a:1");
    EXPECT_TRUE(second && second->body() == "b:2");
    EXPECT_TRUE(third && third->body() == "ok");
  }());
}

TEST_P(HttpServerTest, ConnectionCloseIsHonoured) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, get_request("/healthz", "Connection: close\r\n")));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response);
    if (response) {
      EXPECT_FALSE(response->keep_alive());
    }
    EXPECT_TRUE(co_await closed_by_server(client));
  }());
}

TEST_P(HttpServerTest, Http10ClosesAfterTheResponse) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, "GET /healthz HTTP/1.0\r\n\r\n"));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response);
    if (response) {
      EXPECT_EQ(response->version(), 10u);
      EXPECT_EQ(response->body(), "ok");
    }
    EXPECT_TRUE(co_await closed_by_server(client));
  }());
}

TEST_P(HttpServerTest, BodyAtTheLimitIsAccepted) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, post_request("/echo/a", std::string(kMaxBody, 'x'))));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response && response->result() == http::status::ok);
  }());
  EXPECT_EQ(handled_, 1);
}

TEST_P(HttpServerTest, DeclaredBodyOverTheLimitIs413) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    // Only the header: the server refuses before reading a byte of the body.
    EXPECT_TRUE(co_await write_raw(client,
                                   "POST /echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                                   "\r\n"));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response);
    if (response) {
      EXPECT_EQ(response->result(), http::status::payload_too_large);
      EXPECT_FALSE(response->keep_alive());
    }
    EXPECT_TRUE(co_await closed_by_server(client));
  }());
  EXPECT_EQ(handled_, 0);
}

TEST_P(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    const std::string chunk(40, 'y');
    // Two chunks of 0x28 = 40 bytes: the second one crosses the 64-byte limit.
    const std::string request =
        "POST /echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n" + chunk +
        "\r\n28\r\n" + chunk + "\r\n0\r\n\r\n";
    EXPECT_TRUE(co_await write_raw(client, request));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response && response->result() == http::status::payload_too_large);
  }());
  EXPECT_EQ(handled_, 0);
}

TEST_P(HttpServerTest, MalformedRequestsAre400) {
  start();
  for (const char* bytes : {
           "GARBAGE\r\n\r\n",
           "GET / HTTP/1.1\r\nHost localhost\r\n\r\n",  // a header line without a colon
           "POST /echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
       }) {
    SCOPED_TRACE(bytes);
    run_on(io_, [this, bytes]() -> asio::awaitable<void> {
      Client client(io_);
      EXPECT_TRUE(co_await connect(client, server_->port()));
      EXPECT_TRUE(co_await write_raw(client, bytes));
      auto response = co_await read_response(client);
      EXPECT_TRUE(response);
      if (response) {
        EXPECT_EQ(response->result(), http::status::bad_request);
      }
      EXPECT_TRUE(co_await closed_by_server(client));
    }());
  }
  EXPECT_EQ(handled_, 0);
}

TEST_P(HttpServerTest, HugeHeadersAre431) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(
        client, get_request("/healthz", "X-Big: " + std::string(20 * 1024, 'z') + "\r\n")));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response && response->result() == http::status::request_header_fields_too_large);
  }());
}

TEST_P(HttpServerTest, StalledHeaderIsClosedAfterTheHeaderTimeout) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    const auto began = Clock::now();
    EXPECT_TRUE(co_await write_raw(client, "GET /healthz HTTP/1.1\r\nHost: 127.0"));
    EXPECT_TRUE(co_await closed_by_server(client)) << "no response, just the close";
    const auto waited = Clock::now() - began;
    EXPECT_GE(waited, kHeaderTimeout - 20ms);
    EXPECT_LT(waited, 4s) << "closed by the header timeout, not by something later";
  }());
}

TEST_P(HttpServerTest, SilentConnectionIsClosedAfterTheHeaderTimeout) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    const auto began = Clock::now();
    EXPECT_TRUE(co_await closed_by_server(client));
    EXPECT_LT(Clock::now() - began, 4s);
  }());
}

TEST_P(HttpServerTest, StopClosesAnIdleKeepAliveConnection) {
  start();
  run_on(io_, [this]() -> asio::awaitable<void> {
    Client client(io_);
    EXPECT_TRUE(co_await connect(client, server_->port()));
    EXPECT_TRUE(co_await write_raw(client, get_request("/healthz")));
    auto response = co_await read_response(client);
    EXPECT_TRUE(response && response->keep_alive());
    // The connection now waits for its next request, with the 60 s idle timeout.
    const auto began = Clock::now();
    server_->stop();
    EXPECT_TRUE(co_await closed_by_server(client));
    EXPECT_LT(Clock::now() - began, 4s);
  }());
}

TEST_P(HttpServerTest, StopStopsAccepting) {
  start();
  const std::uint16_t port = server_->port();
  server_->stop();
  const bool connected = run_on(io_, [this, port]() -> asio::awaitable<bool> {
    Client client(io_);
    if (!co_await connect(client, port)) {
      co_return false;
    }
    // Connected before the close took effect: the server must not serve it.
    co_await write_raw(client, get_request("/healthz"));
    auto response = co_await read_response(client);
    co_return response.has_value();
  }());
  EXPECT_FALSE(connected);
}

TEST_P(HttpServerTest, StartFailsOnAPortInUse) {
  start();
  HttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(server_->port());
  HttpServer second(io_, router_, options);
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_TRUE(started.error().is(errc::invalid_argument));
  EXPECT_NE(started.error().detail.find(options.listen), std::string::npos)
      << started.error().detail;
}

TEST_P(HttpServerTest, StartFailsOnAMalformedAddress) {
  for (const char* listen : {"nonsense", "127.0.0.1", "127.0.0.1:99999", ":8080"}) {
    HttpServerOptions options;
    options.listen = listen;
    HttpServer server(io_, router_, options);
    auto started = server.start();
    ASSERT_FALSE(started) << listen;
    EXPECT_TRUE(started.error().is(errc::invalid_argument));
    EXPECT_NE(started.error().detail.find(listen), std::string::npos) << started.error().detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Executors, HttpServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "StrandPerConnection" : "OneThread";
                         });

TEST(SplitHostPortTest, Cases) {
  using Parts = std::pair<std::string, std::uint16_t>;
  EXPECT_EQ(split_host_port("127.0.0.1:8080"), (Parts{"127.0.0.1", 8080}));
  EXPECT_EQ(split_host_port("0.0.0.0:0"), (Parts{"0.0.0.0", 0}));
  EXPECT_EQ(split_host_port("localhost:65535"), (Parts{"localhost", 65535}));
  EXPECT_EQ(split_host_port("[::1]:80"), (Parts{"::1", 80}));
  EXPECT_EQ(split_host_port("[::]:443"), (Parts{"::", 443}));
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536",
                          "127.0.0.1:99999999999", "127.0.0.1:-1", "127.0.0.1:80x",
                          "127.0.0.1: 80", "[::1]", "[::1]80", "[::1]:", "[]:80",
                          "[::1:80"}) {
    EXPECT_FALSE(split_host_port(bad)) << bad;
  }
}

}  // namespace
}  // namespace botgate::net
