#include "botgate/net/ws_client.hpp"

#include "botgate/net/connect.hpp"
#include "support/net_test_servers.hpp"
#include "support/run_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/websocket/error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace botgate::net {
namespace {

using namespace std::chrono_literals;
using test::TestConnectProxy;
using test::TestHttpServer;
using test::TestWsServer;
using Clock = std::chrono::steady_clock;

/// The deadline under test, and the bound a test allows for it (or for "at once"): far from
/// each other, so that a loaded machine does not make the tests flaky.
constexpr auto kShort = 300ms;
constexpr auto kSlack = 2s;

/// Short deadlines; with `trust_test_ca`, the CA of the TLS test servers is trusted.
WsClientOptions short_options(bool trust_test_ca = false) {
  WsClientOptions options;
  options.connect_timeout = kShort;
  options.close_timeout = kShort;
  if (trust_test_ca) {
    options.ca_file = test::testdata_path("net/ca.pem");
  }
  return options;
}

TestWsServer::Options tls_server() {
  TestWsServer::Options options;
  options.tls = true;
  return options;
}

using ConnectResult = Result<std::unique_ptr<WsConnection>>;

/// Connects, and on success sends each of `messages` and reads as many answers.
asio::awaitable<Result<std::vector<std::string>>> echo(std::string url, WsClientOptions options,
                                                       std::vector<std::string> messages) {
  const auto executor = co_await asio::this_coro::executor;
  auto ws = co_await WsConnection::connect(executor, std::move(url), std::move(options));
  if (!ws) {
    co_return ws.error();
  }
  std::vector<std::string> answers;
  for (auto& message : messages) {
    auto written = co_await (*ws)->write(std::move(message));
    if (!written) {
      co_return written.error();
    }
    auto answer = co_await (*ws)->read();
    if (!answer) {
      co_return answer.error();
    }
    answers.push_back(std::move(*answer));
  }
  co_await (*ws)->close(1000, "done");
  co_return answers;
}

Result<std::vector<std::string>> run_echo(const std::string& url, const WsClientOptions& options,
                                          std::vector<std::string> messages) {
  return test::run_sync(echo(url, options, std::move(messages)));
}

ConnectResult run_connect(const std::string& url, const WsClientOptions& options) {
  return test::run_sync([&]() -> asio::awaitable<ConnectResult> {
    const auto executor = co_await asio::this_coro::executor;
    co_return co_await WsConnection::connect(executor, url, options);
  }());
}

TEST(WsClient, EchoRoundTripOverPlainWebSocket) {
  TestWsServer server;
  auto answers = run_echo(server.url("/gateway?v=10&token=secret"), short_options(),
                          {"hello", std::string(100'000, 'x')});
  ASSERT_TRUE(answers) << answers.error().message();
  EXPECT_EQ(*answers, (std::vector<std::string>{"hello", std::string(100'000, 'x')}));

  const auto upgrades = server.upgrade_requests();
  ASSERT_EQ(upgrades.size(), 1u);
  EXPECT_EQ(upgrades[0].target(), "/gateway?v=10&token=secret");
  EXPECT_EQ(upgrades[0][http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(upgrades[0][http::field::user_agent], "botgate/0.1");
  // permessage-deflate is not offered.
  EXPECT_EQ(upgrades[0].find(http::field::sec_websocket_extensions), upgrades[0].end());

  // close(1000) ran a close handshake the server saw.
  auto end = server.wait_session_end(kSlack);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error, boost::beast::websocket::error::closed);
  EXPECT_EQ(end->close_code, 1000);
}

TEST(WsClient, SendsTheConfiguredUserAgent) {
  TestWsServer server;
  WsClientOptions options = short_options();
  options.user_agent = "DiscordBot (https://example.com, 1.0)";
  ASSERT_TRUE(run_echo(server.url(), options, {"x"}));
  ASSERT_EQ(server.upgrade_requests().size(), 1u);
  EXPECT_EQ(server.upgrade_requests()[0][http::field::user_agent],
            "DiscordBot (https://example.com, 1.0)");
}

TEST(WsClient, SendsTheConfiguredHeaders) {
  TestWsServer server;
  WsClientOptions options = short_options();
  options.headers = {{"X-Self-ID", "10001"}, {"Authorization", "Bearer t0k"}};
  ASSERT_TRUE(run_echo(server.url(), options, {"x"}));
  ASSERT_EQ(server.upgrade_requests().size(), 1u);
  const auto upgrade = server.upgrade_requests()[0];  // a copy: the vector is one too
  EXPECT_EQ(upgrade["X-Self-ID"], "10001");
  EXPECT_EQ(upgrade[http::field::authorization], "Bearer t0k");
  EXPECT_EQ(upgrade[http::field::user_agent], "botgate/0.1");
}

TEST(WsClient, WritesStartedTogetherAreSentInOrder) {
  TestWsServer server;
  auto answers = test::run_sync([&]() -> asio::awaitable<Result<std::vector<std::string>>> {
    const auto executor = co_await asio::this_coro::executor;
    auto ws = co_await WsConnection::connect(executor, server.url(), short_options());
    if (!ws) {
      co_return ws.error();
    }
    WsConnection& connection = **ws;
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(executor, connection.write(std::to_string(i)), asio::detached);
    }
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
      auto answer = co_await connection.read();
      if (!answer) {
        co_return answer.error();
      }
      got.push_back(std::move(*answer));
    }
    co_await connection.close(1000, "");
    co_return got;
  }());
  ASSERT_TRUE(answers) << answers.error().message();
  EXPECT_EQ(*answers, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(WsClient, SecureWebSocketWithTheTestCa) {
  TestWsServer server(tls_server());
  auto answers =
      run_echo(server.url("/?v=10"), short_options(/*trust_test_ca=*/true), {"over tls"});
  ASSERT_TRUE(answers) << answers.error().message();
  EXPECT_EQ(*answers, std::vector<std::string>{"over tls"});
}

TEST(WsClient, SecureConnectionsShareOneTlsContext) {
  // One trust store for every connection: a context each cost ~0.9 MiB and 10-50 ms of CPU,
  // which 40 gateway bots paid 40 times.
  TestWsServer server(tls_server());
  const WsClientOptions options = short_options(/*trust_test_ca=*/true);
  const auto context = detail::shared_client_tls(options.ca_file);
  const long alone = context.use_count();
  auto during = test::run_sync([&]() -> asio::awaitable<Result<long>> {
    const auto executor = co_await asio::this_coro::executor;
    auto first = co_await WsConnection::connect(executor, server.url(), options);
    if (!first) co_return first.error();
    auto second = co_await WsConnection::connect(executor, server.url(), options);
    if (!second) co_return second.error();
    const long count = context.use_count();
    auto written = co_await (*second)->write("still works");
    if (!written) co_return written.error();
    auto answer = co_await (*second)->read();
    if (!answer) co_return answer.error();
    co_await (*first)->close(1000, "done");
    co_await (*second)->close(1000, "done");
    co_return count;
  }());
  ASSERT_TRUE(during) << during.error().message();
  EXPECT_EQ(*during, alone + 2);
  EXPECT_EQ(context.use_count(), alone);  // released with the connections
}

TEST(WsClient, SecureWebSocketFailsWithoutTheTestCa) {
  TestWsServer server(tls_server());
  auto answers = run_echo(server.url(), short_options(), {"x"});
  ASSERT_FALSE(answers);
  EXPECT_TRUE(answers.error().is(errc::platform_unavailable)) << answers.error().message();
  EXPECT_NE(answers.error().detail.find("TLS handshake"), std::string::npos);
  EXPECT_TRUE(server.upgrade_requests().empty());
}

TEST(WsClient, ThroughConnectProxyWithTheServerName) {
  TestWsServer server(tls_server());
  TestConnectProxy proxy(server.port());
  WsClientOptions options = short_options(/*trust_test_ca=*/true);
  options.proxy_url = proxy.url();
  // Only the proxy is resolved: "localhost" reaches the server through the tunnel and is the
  // name the certificate is checked against.
  const std::string authority = "localhost:" + std::to_string(server.port());
  auto answers = run_echo("wss://" + authority + "/gateway", options, {"tunnelled"});
  ASSERT_TRUE(answers) << answers.error().message();
  EXPECT_EQ(*answers, std::vector<std::string>{"tunnelled"});
  EXPECT_EQ(proxy.authorities(), std::vector<std::string>{authority});
  ASSERT_EQ(server.upgrade_requests().size(), 1u);
  EXPECT_EQ(server.upgrade_requests()[0][http::field::host], authority);
}

TEST(WsClient, ProxyRefusal) {
  TestWsServer server;
  TestConnectProxy proxy(server.port(), TestConnectProxy::Mode::deny);
  WsClientOptions options = short_options();
  options.proxy_url = proxy.url();
  auto connection = run_connect(server.url(), options);
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::platform_unavailable));
  EXPECT_NE(connection.error().detail.find("403"), std::string::npos);
}

TEST(WsClient, ServerCloseCodeIsReported) {
  TestWsServer server(TestWsServer::Options{.close_code = 4004,
                                            .close_reason = "Authentication failed."});
  std::optional<std::uint16_t> close_code;
  auto read = test::run_sync([&]() -> asio::awaitable<Result<std::string>> {
    const auto executor = co_await asio::this_coro::executor;
    auto ws = co_await WsConnection::connect(executor, server.url(), short_options());
    if (!ws) {
      co_return ws.error();
    }
    auto message = co_await (*ws)->read();
    close_code = (*ws)->close_code();
    co_return message;
  }());
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().is(errc::platform_unavailable)) << read.error().message();
  EXPECT_NE(read.error().detail.find("4004"), std::string::npos) << read.error().detail;
  EXPECT_NE(read.error().detail.find("Authentication failed."), std::string::npos);
  EXPECT_EQ(close_code, std::optional<std::uint16_t>(4004));
}

TEST(WsClient, AbortEndsAPendingReadAtOnce) {
  TestWsServer server;
  const auto started = Clock::now();
  auto read = test::run_sync([&]() -> asio::awaitable<Result<std::string>> {
    const auto executor = co_await asio::this_coro::executor;
    auto ws = co_await WsConnection::connect(executor, server.url(), short_options());
    if (!ws) {
      co_return ws.error();
    }
    WsConnection& connection = **ws;
    // Runs once the read below is suspended: the server sends nothing, so it stays pending.
    asio::co_spawn(
        executor, [&connection]() -> asio::awaitable<void> {
          connection.abort();
          co_return;
        },
        asio::detached);
    auto message = co_await connection.read();
    // Later calls fail too, without touching the closed socket.
    auto written = co_await connection.write("late");
    EXPECT_TRUE(!written && written.error().is(errc::cancelled));
    co_return message;
  }());
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().is(errc::cancelled)) << read.error().message();
  EXPECT_LT(Clock::now() - started, kSlack);

  // No close handshake: the server sees the connection drop.
  auto end = server.wait_session_end(kSlack);
  ASSERT_TRUE(end);
  EXPECT_NE(end->error, boost::beast::websocket::error::closed);
}

TEST(WsClient, ConnectTimesOutAgainstASilentServer) {
  TestHttpServer server(TestHttpServer::Options{.mode = TestHttpServer::Mode::silent});
  const auto started = Clock::now();
  auto connection = run_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/",
                                short_options());
  const auto elapsed = Clock::now() - started;
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::timeout)) << connection.error().message();
  EXPECT_GE(elapsed, kShort - 50ms);
  EXPECT_LT(elapsed, kSlack);
}

TEST(WsClient, SecureConnectTimesOutAgainstASilentServer) {
  TestHttpServer server(TestHttpServer::Options{.mode = TestHttpServer::Mode::silent});
  const auto started = Clock::now();
  auto connection = run_connect("wss://127.0.0.1:" + std::to_string(server.port()) + "/",
                                short_options(/*trust_test_ca=*/true));
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::timeout)) << connection.error().message();
  EXPECT_LT(Clock::now() - started, kSlack);
}

TEST(WsClient, MessageOverTheLimitIsAnError) {
  TestWsServer server;
  WsClientOptions options = short_options();
  options.max_message_bytes = 1024;
  auto small = run_echo(server.url(), options, {std::string(1024, 'a')});
  ASSERT_TRUE(small) << small.error().message();
  auto big = run_echo(server.url(), options, {std::string(1025, 'a')});
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(errc::malformed_payload)) << big.error().message();
}

TEST(WsClient, RejectedUpgradeNamesTheStatus) {
  TestHttpServer server({}, [](const HttpRequest&) {
    return HttpResponse{http::status::unauthorized, 11};
  });
  auto connection = run_connect(
      "ws://127.0.0.1:" + std::to_string(server.port()) + "/gateway?token=secret",
      short_options());
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::platform_rejected)) << connection.error().message();
  EXPECT_NE(connection.error().detail.find("401"), std::string::npos);
  EXPECT_EQ(connection.error().detail.find("secret"), std::string::npos);
  EXPECT_NE(connection.error().detail.find("127.0.0.1:"), std::string::npos);
}

TEST(WsClient, UnavailableUpgradeIsRetryable) {
  TestHttpServer server({}, [](const HttpRequest&) {
    return HttpResponse{http::status::service_unavailable, 11};
  });
  auto connection =
      run_connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", short_options());
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::platform_unavailable));
  EXPECT_NE(connection.error().detail.find("503"), std::string::npos);
}

TEST(WsClient, RefusedConnectionNamesHostAndPortOnly) {
  unsigned short port = 0;
  {
    TestWsServer server;  // a port that was free a moment ago and is closed now
    port = server.port();
  }
  auto connection = run_connect(
      "ws://127.0.0.1:" + std::to_string(port) + "/gateway?token=secret", short_options());
  ASSERT_FALSE(connection);
  EXPECT_TRUE(connection.error().is(errc::platform_unavailable));
  EXPECT_NE(connection.error().detail.find("127.0.0.1:" + std::to_string(port)),
            std::string::npos);
  EXPECT_EQ(connection.error().detail.find("secret"), std::string::npos);
}

TEST(WsClient, OnlyWsAndWssUrls) {
  for (const char* url : {"http://127.0.0.1/", "ftp://x/", "ws:/x", "wss://user@host/"}) {
    auto connection = run_connect(url, short_options());
    ASSERT_FALSE(connection) << url;
    EXPECT_TRUE(connection.error().is(errc::invalid_argument)) << url;
  }
  // Scheme case does not matter.
  TestWsServer server;
  auto upper = "WS://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto answers = run_echo(upper, short_options(), {"x"});
  EXPECT_TRUE(answers) << answers.error().message();
}

TEST(WsClient, BadProxyUrlIsAConfigurationError) {
  WsClientOptions options = short_options();
  options.proxy_url = "socks5://127.0.0.1:1080";
  EXPECT_THROW(run_connect("ws://127.0.0.1:1/", options), std::invalid_argument);
}

}  // namespace
}  // namespace botgate::net
