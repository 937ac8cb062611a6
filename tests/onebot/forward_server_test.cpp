#include "botgate/onebot/forward_server.hpp"

#include "botgate/core/handler_chain.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/http_server.hpp"
#include "botgate/net/ws_client.hpp"
#include "botgate/onebot/bot_link.hpp"
#include "botgate/onebot/forward_routes.hpp"
#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kToken = "forward-token";

/// A bot "fs" served over the forward WebSocket on a real HTTP server on 127.0.0.1:0.
class ForwardServerTest : public ::testing::Test {
 protected:
  ForwardServerTest() : runtime_(io_, store_, chain_), strand_(asio::make_strand(io_)) {}

  void start(ForwardServerOptions options) {
    link_ = std::make_unique<BotLink>(strand_, runtime_, store_,
                                      BotIdentity{"fs", "feishu", 10001, "1.0"});
    forward_ = std::make_unique<ForwardServer>(*link_, options);
    link_->set_forward(forward_.get());
    add_forward_routes(router_, kToken, {{"fs", forward_.get()}});
    net::HttpServerOptions http;
    http.listen = "127.0.0.1:0";
    http.strand_per_connection = false;
    server_ = std::make_unique<net::HttpServer>(io_, router_, http);
    ASSERT_TRUE(server_->start());
  }

  ~ForwardServerTest() override {
    for (auto& client : clients_) client->abort();
    if (server_) {
      server_->stop();
      test::run_until(io_, [this] { return forward_->open_connections() == 0; }, 5s);
      server_->close();
    }
    io_.restart();
    io_.run_for(50ms);
  }

  Result<net::WsConnection*> connect(std::string authorization = std::string("Bearer ") + kToken) {
    net::WsClientOptions options;
    options.connect_timeout = 5s;
    if (!authorization.empty()) options.headers = {{"Authorization", authorization}};
    const std::string url =
        "ws://127.0.0.1:" + std::to_string(server_->port()) + "/onebot/v11/ws/fs";
    auto client = test::run_on(io_, net::WsConnection::connect(strand_, url, options));
    if (!client) return client.error();
    clients_.push_back(std::move(*client));
    return clients_.back().get();
  }

  json::object read(net::WsConnection& client) {
    auto frame = test::run_on(io_, client.read());
    EXPECT_TRUE(frame) << frame.error().message();
    return frame ? json::parse(*frame).as_object() : json::object{};
  }

  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  Runtime runtime_;
  asio::any_io_executor strand_;
  net::Router router_;
  std::unique_ptr<BotLink> link_;
  std::unique_ptr<ForwardServer> forward_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::unique_ptr<net::WsConnection>> clients_;
};

TEST_F(ForwardServerTest, AnEventCountsOnceAConnectionWroteIt) {
  start({});
  auto nobody = test::run_on(io_, asio::co_spawn(strand_, link_->post_event("{}"),
                                                 asio::use_awaitable));
  ASSERT_FALSE(nobody) << "no connection: the event stays in the inbox";
  EXPECT_TRUE(nobody.error().is(errc::platform_unavailable));

  auto client = connect();
  ASSERT_TRUE(client) << client.error().message();
  const auto hello = read(**client);
  EXPECT_EQ(hello.at("meta_event_type"), "lifecycle");
  EXPECT_EQ(hello.at("sub_type"), "connect");
  EXPECT_EQ(hello.at("self_id"), 10001);
  ASSERT_TRUE(test::run_until(io_, [&] { return forward_->open_connections() == 1; }, 5s));
  const auto shown = forward_->connections();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].kind, "forward");
  EXPECT_TRUE(shown[0].peer.starts_with("127.0.0.1:")) << shown[0].peer;

  auto posted = test::run_on(io_, asio::co_spawn(strand_, link_->post_event(R"({"n":1})"),
                                                 asio::use_awaitable));
  EXPECT_TRUE(posted) << posted.error().message();
  EXPECT_EQ(read(**client).at("n"), 1);

  // An action is answered on the connection, with its echo.
  ASSERT_TRUE(test::run_on(io_, (*client)->write(
                                    R"({"action":"get_login_info","params":{},"echo":7})")));
  const auto answer = read(**client);
  EXPECT_EQ(answer.at("retcode"), 0);
  EXPECT_EQ(answer.at("echo"), 7);
  EXPECT_EQ(answer.at("data").at("user_id"), 10001);
}

TEST_F(ForwardServerTest, AConnectionThatFallsBehindIsClosedAndTheOthersGoOn) {
  ForwardServerOptions options;
  options.connection.max_queued_events = 2;
  start(options);
  auto slow = connect();
  ASSERT_TRUE(slow) << slow.error().message();
  auto quick = connect();
  ASSERT_TRUE(quick) << quick.error().message();
  read(**quick);  // the lifecycle event
  ASSERT_TRUE(test::run_until(io_, [&] { return forward_->open_connections() == 2; }, 5s));

  // Three events in one turn of the strand: no writer runs between them. Each queue takes two.
  std::vector<std::size_t> taken;
  asio::post(strand_, [&] {
    for (int i = 0; i < 3; ++i) {
      auto delivery = std::make_shared<Delivery>(strand_);
      taken.push_back(forward_->offer("{\"n\":" + std::to_string(i) + "}", delivery));
    }
  });
  ASSERT_TRUE(test::run_until(io_, [&] { return taken.size() == 3; }, 5s));
  EXPECT_EQ(taken, (std::vector<std::size_t>{2, 2, 0}))
      << "the third passes both queues' bound: both connections are closed";
  ASSERT_TRUE(test::run_until(io_, [&] { return forward_->open_connections() == 0; }, 5s));

  // With a queue that keeps up, nothing is closed: one event at a time, each written.
  auto steady = connect();
  ASSERT_TRUE(steady) << steady.error().message();
  read(**steady);
  for (int i = 0; i < 5; ++i) {
    auto posted = test::run_on(io_, asio::co_spawn(strand_, link_->post_event("{\"k\":1}"),
                                                   asio::use_awaitable));
    ASSERT_TRUE(posted) << i << ": " << posted.error().message();
    EXPECT_EQ(read(**steady).at("k"), 1);
  }
  EXPECT_EQ(forward_->open_connections(), 1u);
}

TEST_F(ForwardServerTest, RefusesPastTheLimitAndWithoutTheToken) {
  ForwardServerOptions options;
  options.max_connections = 1;
  start(options);
  auto missing = connect("");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("status 401"), std::string::npos) << missing.error().detail;
  auto wrong = connect("Bearer forward-tokeN");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().detail.find("status 403"), std::string::npos) << wrong.error().detail;

  auto first = connect();
  ASSERT_TRUE(first) << first.error().message();
  auto second = connect();
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().detail.find("status 503"), std::string::npos) << second.error().detail;
}

}  // namespace
}  // namespace botgate::onebot
