#include "botgate/net/http_client.hpp"

#include "support/net_test_servers.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <thread>

namespace botgate::net {
namespace {

using test::TestConnectProxy;
using test::TestHttpServer;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kShort = 300ms;
// Deadline tests check that the short deadline fired, not a long one or none; the slack keeps
// them steady on a loaded machine.
constexpr auto kSlack = 2s;

HttpRequest get_request() { return HttpRequest{http::verb::get, "/", 11}; }

asio::awaitable<void> send_sequentially(HttpClient& client, std::string url, int count,
                                        std::atomic<int>& succeeded) {
  for (int i = 0; i < count; ++i) {
    auto response = co_await client.send(url, get_request());
    if (response && response->result() == http::status::ok) {
      ++succeeded;
    }
  }
}

/// Drives the client on the test thread's io_context; every test runs with a strand per
/// exchange (several I/O threads) and without (one).
class HttpClientTest : public ::testing::TestWithParam<bool> {
 protected:
  HttpClientOptions short_options() const {
    HttpClientOptions options;
    options.connect_timeout = kShort;
    options.request_timeout = kShort;
    options.strand_per_exchange = GetParam();
    return options;
  }

  HttpClientOptions trusting_options() const {
    HttpClientOptions options = short_options();
    options.ca_file = test::testdata_path("net/ca.pem");
    return options;
  }

  Result<HttpResponse> send(HttpClient& client, const std::string& url,
                            HttpRequest request = get_request()) {
    std::optional<Result<HttpResponse>> out;
    std::exception_ptr failure;
    asio::co_spawn(ioc_, client.send(url, std::move(request)),
                   [&](std::exception_ptr e, Result<HttpResponse> result) {
                     failure = e;
                     out.emplace(std::move(result));
                   });
    ioc_.restart();
    ioc_.run();
    if (failure) {
      std::rethrow_exception(failure);
    }
    return std::move(*out);
  }

  /// Sends `count` requests at once and waits for all of them.
  std::vector<Result<HttpResponse>> send_concurrently(HttpClient& client, const std::string& url,
                                                      int count) {
    std::vector<Result<HttpResponse>> results(static_cast<std::size_t>(count));
    for (auto& slot : results) {
      asio::co_spawn(ioc_, client.send(url, get_request()),
                     [&slot](std::exception_ptr e, Result<HttpResponse> result) {
                       ASSERT_FALSE(e);
                       slot = std::move(result);
                     });
    }
    ioc_.restart();
    ioc_.run();
    return results;
  }

  asio::io_context ioc_;
};

INSTANTIATE_TEST_SUITE_P(StrandPerExchange, HttpClientTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Strand") : std::string("NoStrand");
                         });

TEST_P(HttpClientTest, GetRoundTrip) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  HttpRequest request = get_request();
  request.set("x-test", "hello");

  auto response = send(client, server.url("/v1/items?page=2"), std::move(request));

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->result(), http::status::ok);
  EXPECT_EQ(response->body(), "GET /v1/items?page=2\n");
  EXPECT_EQ((*response)["x-echo"], "hello");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0][http::field::user_agent], "botgate/0.1");
  EXPECT_EQ(seen[0]["x-test"], "hello");
}

TEST_P(HttpClientTest, PostRoundTrip) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  HttpRequest request{http::verb::post, "/ignored", 11};
  request.set(http::field::content_type, "application/json");
  request.set(http::field::authorization, "Bearer t-123");
  request.body() = R"({"text":"hi"})";

  auto response = send(client, server.url("/messages"), std::move(request));

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "POST /messages\n{\"text\":\"hi\"}");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][http::field::content_length], "13");
  EXPECT_EQ(seen[0][http::field::content_type], "application/json");
  EXPECT_EQ(seen[0][http::field::authorization], "Bearer t-123");
  EXPECT_EQ(seen[0].body(), R"({"text":"hi"})");
}

TEST_P(HttpClientTest, EmptyPostCarriesContentLengthZero) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, server.url(), HttpRequest{http::verb::post, "/", 11});

  ASSERT_TRUE(response) << response.error().message();
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][http::field::content_length], "0");
}

TEST_P(HttpClientTest, KeepsTheCallersUserAgent) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  HttpRequest request = get_request();
  request.set(http::field::user_agent, "DiscordBot (https://example.com, 0.1)");

  ASSERT_TRUE(send(client, server.url(), std::move(request)));

  EXPECT_EQ(server.requests().at(0)[http::field::user_agent],
            "DiscordBot (https://example.com, 0.1)");
}

TEST_P(HttpClientTest, HttpErrorStatusIsAResponse) {
  TestHttpServer server({}, [](const HttpRequest&) {
    return make_response(http::status::too_many_requests, R"({"code":99991400})");
  });
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, server.url());

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->result(), http::status::too_many_requests);
  EXPECT_EQ(response->body(), R"({"code":99991400})");
}

TEST_P(HttpClientTest, HeadReadsNoBody) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());

  auto head = send(client, server.url("/x"), HttpRequest{http::verb::head, "/", 11});
  ASSERT_TRUE(head) << head.error().message();
  EXPECT_EQ(head->body(), "");
  EXPECT_EQ((*head)[http::field::content_length], "8");  // "HEAD /x\n"

  // The connection is still in step: the next answer is read correctly on it.
  auto get = send(client, server.url("/y"));
  ASSERT_TRUE(get) << get.error().message();
  EXPECT_EQ(get->body(), "GET /y\n");
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_P(HttpClientTest, ReusesKeepAliveConnections) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());

  for (int i = 0; i < 3; ++i) {
    auto response = send(client, server.url("/" + std::to_string(i)));
    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->body(), "GET /" + std::to_string(i) + "\n");
  }

  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_P(HttpClientTest, DoesNotPoolAConnectionTheServerCloses) {
  TestHttpServer server({}, [](const HttpRequest& request) {
    HttpResponse response = TestHttpServer::echo(request);
    response.keep_alive(false);
    return response;
  });
  HttpClient client(ioc_.get_executor(), short_options());

  ASSERT_TRUE(send(client, server.url()));
  ASSERT_TRUE(send(client, server.url()));

  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST_P(HttpClientTest, ExpiredIdleConnectionsAreDropped) {
  TestHttpServer server;
  HttpClientOptions options = short_options();
  options.idle_timeout = 0s;
  HttpClient client(ioc_.get_executor(), options);

  ASSERT_TRUE(send(client, server.url()));
  ASSERT_TRUE(send(client, server.url()));

  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST_P(HttpClientTest, KeepsAtMostMaxIdlePerHost) {
  TestHttpServer server;
  HttpClientOptions options = short_options();
  options.max_idle_per_host = 1;
  HttpClient client(ioc_.get_executor(), options);

  for (auto& result : send_concurrently(client, server.url(), 2)) {
    ASSERT_TRUE(result) << result.error().message();
  }
  EXPECT_EQ(server.connections_accepted(), 2);

  // One of the two was kept: a second pair needs one new connection.
  for (auto& result : send_concurrently(client, server.url(), 2)) {
    ASSERT_TRUE(result) << result.error().message();
  }
  EXPECT_EQ(server.connections_accepted(), 3);
}

TEST_P(HttpClientTest, AConnectionTheServerClosedWhileIdleIsNotUsed) {
  // Checked before use, so even a POST (which is never sent twice) goes out on a new one.
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  ASSERT_TRUE(send(client, server.url()));

  server.close_connections();
  HttpRequest request{http::verb::post, "/", 11};
  request.body() = "again";
  auto response = send(client, server.url("/second"), std::move(request));

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "POST /second\nagain");
  EXPECT_EQ(server.connections_accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_P(HttpClientTest, RetriesOnceOverTlsToo) {
  TestHttpServer server({.tls = true});
  HttpClient client(ioc_.get_executor(), trusting_options());
  ASSERT_TRUE(send(client, server.url()));

  server.close_connections();  // no close_notify: the TCP connection just ends
  auto response = send(client, server.url("/second"));

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "GET /second\n");
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST_P(HttpClientTest, RetriesOnlyOnce) {
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  ASSERT_TRUE(send(client, server.url()));

  // From now on the server drops every request unanswered: the pooled connection fails, the
  // fresh one fails too, and there is no third attempt. (A GET may be sent again although the
  // server read it: it changes nothing there.)
  server.set_mode(TestHttpServer::Mode::close_on_request);
  auto response = send(client, server.url());

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::platform_unavailable)) << response.error().message();
  EXPECT_EQ(server.connections_accepted(), 2);
  EXPECT_EQ(server.requests().size(), 3u);
}

HttpRequest post_request(std::string body) {
  HttpRequest request{http::verb::post, "/", 11};
  request.body() = std::move(body);
  return request;
}

TEST_P(HttpClientTest, PostReadByTheServerOnAPooledConnectionIsNotSentAgain) {
  // A group webhook with no idempotency key: the server read the request, then the connection
  // broke before an answer. It may have been delivered, so it must not go out a second time.
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  ASSERT_TRUE(send(client, server.url()));

  server.set_mode(TestHttpServer::Mode::close_on_request);
  auto response = send(client, server.url("/send"), post_request("once"));

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::delivery_uncertain)) << response.error().message();
  EXPECT_EQ(server.requests().size(), 2u);  // the GET, and the POST once
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_P(HttpClientTest, PostReadByTheServerOnANewConnectionIsUncertain) {
  TestHttpServer server({.tls = false, .mode = TestHttpServer::Mode::close_on_request});
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, server.url("/send?key=SECRET"), post_request("once"));

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::delivery_uncertain)) << response.error().message();
  EXPECT_EQ(response.error().detail.find("SECRET"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_P(HttpClientTest, PostThatTimesOutAfterBeingWrittenIsUncertain) {
  TestHttpServer server({.tls = false, .mode = TestHttpServer::Mode::silent});
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, server.url(), post_request("slow"));

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::delivery_uncertain)) << response.error().message();
}

TEST_P(HttpClientTest, PostMarkedIdempotentIsSentAgainOnANewConnection) {
  // Feishu uuid, Discord nonce, QQ msg_seq: the platform drops the second copy.
  TestHttpServer server;
  HttpClient client(ioc_.get_executor(), short_options());
  ASSERT_TRUE(send(client, server.url()));
  server.set_mode(TestHttpServer::Mode::close_on_request);
  RequestOptions idempotent;
  idempotent.idempotent = true;

  std::optional<Result<HttpResponse>> out;
  asio::co_spawn(ioc_, client.send(server.url("/send"), post_request("keyed"), idempotent),
                 [&](std::exception_ptr e, Result<HttpResponse> result) {
                   ASSERT_FALSE(e);
                   out.emplace(std::move(result));
                 });
  ioc_.restart();
  ioc_.run();

  ASSERT_TRUE(out);
  ASSERT_FALSE(*out);
  EXPECT_TRUE(out->error().is(errc::platform_unavailable)) << out->error().message();
  EXPECT_EQ(server.requests().size(), 3u);  // the GET, the POST on the pooled and a new one
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST_P(HttpClientTest, ResponseBodyLimit) {
  TestHttpServer server({}, [](const HttpRequest&) {
    return make_response(http::status::ok, std::string(2048, 'x'), "text/plain");
  });
  HttpClientOptions options = short_options();
  options.max_response_bytes = 1024;
  HttpClient client(ioc_.get_executor(), options);

  auto response = send(client, server.url());

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::malformed_payload)) << response.error().message();
}

TEST_P(HttpClientTest, InvalidUrlIsAnError) {
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, "ftp://example.com/");

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::invalid_argument));
}

TEST_P(HttpClientTest, ConnectionRefusedIsAValueAndHidesTheQuery) {
  unsigned short port = 0;
  {
    asio::ip::tcp::acceptor closed(ioc_, {asio::ip::make_address("127.0.0.1"), 0});
    port = closed.local_endpoint().port();
  }
  HttpClient client(ioc_.get_executor(), short_options());
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x?key=SECRET";

  Result<HttpResponse> response{Error{errc::not_found}};
  EXPECT_NO_THROW(response = send(client, url));

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::platform_unavailable)) << response.error().message();
  EXPECT_NE(response.error().detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << response.error().detail;
  EXPECT_EQ(response.error().detail.find("SECRET"), std::string::npos);
  EXPECT_EQ(response.error().detail.find("/x"), std::string::npos);
}

TEST_P(HttpClientTest, RequestTimeout) {
  TestHttpServer server({.tls = false, .mode = TestHttpServer::Mode::silent});
  HttpClient client(ioc_.get_executor(), short_options());

  const auto start = Clock::now();
  auto response = send(client, server.url("/slow?token=SECRET"));
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::timeout)) << response.error().message();
  EXPECT_EQ(response.error().detail.find("SECRET"), std::string::npos);
  EXPECT_GE(elapsed, kShort);
  EXPECT_LT(elapsed, kShort + kSlack);
}

TEST_P(HttpClientTest, CancellationEndsAPendingRequest) {
  TestHttpServer server({.tls = false, .mode = TestHttpServer::Mode::silent});
  HttpClientOptions options = short_options();
  options.request_timeout = 10s;
  HttpClient client(ioc_.get_executor(), options);
  asio::cancellation_signal cancel;
  std::optional<Result<HttpResponse>> out;
  asio::co_spawn(ioc_, client.send(server.url(), get_request()),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&](std::exception_ptr e, Result<HttpResponse> result) {
                       ASSERT_FALSE(e);
                       out.emplace(std::move(result));
                     }));
  // The server never answers, so the request is pending whenever the timer fires.
  asio::steady_timer shutdown(ioc_, 100ms);
  shutdown.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::terminal); });

  const auto start = Clock::now();
  ioc_.run();

  ASSERT_TRUE(out);
  ASSERT_FALSE(*out);
  EXPECT_TRUE(out->error().is(errc::cancelled)) << out->error().message();
  EXPECT_LT(Clock::now() - start, kSlack);
}

TEST_P(HttpClientTest, ConnectTimeoutCoversTheTlsHandshake) {
  // The server accepts the TCP connection but never answers the ClientHello.
  TestHttpServer server({.tls = true, .mode = TestHttpServer::Mode::silent});
  HttpClientOptions options = trusting_options();
  options.request_timeout = 10s;  // must not be the one that fires
  HttpClient client(ioc_.get_executor(), options);

  const auto start = Clock::now();
  auto response = send(client, server.url());
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::timeout)) << response.error().message();
  EXPECT_GE(elapsed, kShort);
  EXPECT_LT(elapsed, kShort + kSlack);
}

TEST_P(HttpClientTest, ConnectTimeoutCoversTcpConnect) {
  // Linux drops SYNs to a listener whose accept queue is full; a backlog of 0 holds one
  // connection, which `filler` takes, so the client's connect hangs.
  asio::ip::tcp::acceptor full(ioc_);
  asio::ip::tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), 0};
  full.open(endpoint.protocol());
  full.bind(endpoint);
  full.listen(0);
  asio::ip::tcp::socket filler(ioc_);
  filler.connect(full.local_endpoint());
  HttpClientOptions options = short_options();
  options.request_timeout = 10s;
  HttpClient client(ioc_.get_executor(), options);

  const auto start = Clock::now();
  auto response =
      send(client, "http://127.0.0.1:" + std::to_string(full.local_endpoint().port()) + "/");
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::timeout)) << response.error().message();
  EXPECT_LT(elapsed, kShort + kSlack);
}

TEST_P(HttpClientTest, TlsWithTrustedCa) {
  TestHttpServer server({.tls = true});
  HttpClient client(ioc_.get_executor(), trusting_options());

  auto response = send(client, server.url("/secure"));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "GET /secure\n");

  // By name too (the certificate has both SANs), on the same pool key only for the same host.
  auto by_name = send(client, "https://localhost:" + std::to_string(server.port()) + "/named");
  ASSERT_TRUE(by_name) << by_name.error().message();
  EXPECT_EQ(by_name->body(), "GET /named\n");
  EXPECT_EQ(server.requests().at(1)[http::field::host],
            "localhost:" + std::to_string(server.port()));

  ASSERT_TRUE(send(client, server.url("/again")));
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST_P(HttpClientTest, TlsFailsVerificationWithoutTheCa) {
  TestHttpServer server({.tls = true});
  HttpClient client(ioc_.get_executor(), short_options());

  auto response = send(client, server.url("/?key=SECRET"));

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::platform_unavailable)) << response.error().message();
  EXPECT_NE(response.error().detail.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos);
  EXPECT_EQ(response.error().detail.find("SECRET"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());
}

TEST_P(HttpClientTest, ProxyTunnelToTlsServer) {
  TestHttpServer server({.tls = true});
  TestConnectProxy proxy(server.port());
  HttpClientOptions options = trusting_options();
  options.proxy_url = proxy.url();
  HttpClient client(ioc_.get_executor(), options);

  auto response = send(client, server.url("/through?x=1"));
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "GET /through?x=1\n");
  ASSERT_TRUE(send(client, server.url("/again")));

  const std::string authority = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(proxy.authorities(), std::vector<std::string>{authority});  // one pooled tunnel
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_P(HttpClientTest, ProxyTunnelToPlainServer) {
  TestHttpServer server;
  TestConnectProxy proxy(server.port());
  HttpClientOptions options = short_options();
  options.proxy_url = proxy.url();
  HttpClient client(ioc_.get_executor(), options);

  auto response = send(client, server.url("/plain"));

  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->body(), "GET /plain\n");
  EXPECT_EQ(proxy.authorities().size(), 1u);
}

TEST_P(HttpClientTest, ProxyTunnelStillChecksTheServerName) {
  // The proxy sends the tunnel to the test server, whose certificate is not for this name.
  TestHttpServer server({.tls = true});
  TestConnectProxy proxy(server.port());
  HttpClientOptions options = trusting_options();
  options.proxy_url = proxy.url();
  HttpClient client(ioc_.get_executor(), options);

  auto response = send(client, "https://api.example.test/");

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::platform_unavailable)) << response.error().message();
  EXPECT_EQ(proxy.authorities(), std::vector<std::string>{"api.example.test:443"});
  EXPECT_TRUE(server.requests().empty());
}

TEST_P(HttpClientTest, ProxyRefusal) {
  TestHttpServer server;
  TestConnectProxy proxy(server.port(), TestConnectProxy::Mode::deny);
  HttpClientOptions options = short_options();
  options.proxy_url = proxy.url();
  HttpClient client(ioc_.get_executor(), options);

  auto response = send(client, server.url());

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::platform_unavailable)) << response.error().message();
  EXPECT_NE(response.error().detail.find("403"), std::string::npos) << response.error().detail;
}

TEST_P(HttpClientTest, ConnectTimeoutCoversTheProxy) {
  TestHttpServer server;
  TestConnectProxy proxy(server.port(), TestConnectProxy::Mode::silent);
  HttpClientOptions options = short_options();
  options.proxy_url = proxy.url();
  options.request_timeout = 10s;
  HttpClient client(ioc_.get_executor(), options);

  const auto start = Clock::now();
  auto response = send(client, server.url());
  const auto elapsed = Clock::now() - start;

  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().is(errc::timeout)) << response.error().message();
  EXPECT_LT(elapsed, kShort + kSlack);
}

TEST_P(HttpClientTest, ConcurrentSendsFromSeveralThreadsAndStrands) {
  TestHttpServer server({.tls = true});
  asio::io_context shared(2);
  HttpClient client(shared.get_executor(), trusting_options());
  constexpr int kWorkers = 4;
  constexpr int kRequestsEach = 5;
  std::atomic<int> succeeded{0};

  for (int worker = 0; worker < kWorkers; ++worker) {
    asio::co_spawn(asio::make_strand(shared),
                   send_sequentially(client, server.url(), kRequestsEach, succeeded),
                   asio::detached);
  }
  std::thread second([&shared] { shared.run(); });
  shared.run();
  second.join();

  EXPECT_EQ(succeeded.load(), kWorkers * kRequestsEach);
  EXPECT_LE(server.connections_accepted(), kWorkers);
}

TEST(HttpClientOptions, BadProxyOrCaFileIsAConfigurationError) {
  asio::io_context ioc;
  HttpClientOptions https_proxy;
  https_proxy.proxy_url = "https://127.0.0.1:3128";
  EXPECT_THROW(HttpClient(ioc.get_executor(), https_proxy), std::invalid_argument);

  HttpClientOptions garbage_proxy;
  garbage_proxy.proxy_url = "127.0.0.1:3128";
  EXPECT_THROW(HttpClient(ioc.get_executor(), garbage_proxy), std::invalid_argument);

  HttpClientOptions missing_ca;
  missing_ca.ca_file = test::testdata_path("net/no-such-ca.pem");
  EXPECT_THROW(HttpClient(ioc.get_executor(), missing_ca), std::invalid_argument);
}

}  // namespace
}  // namespace botgate::net
