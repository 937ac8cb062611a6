#include "botgate/onebot/reverse_client.hpp"

#include "botgate/core/handler_chain.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/onebot/bot_link.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

using namespace std::chrono_literals;
using test::TestWsServer;

TEST(ReverseHeaders, UniversalRoleSelfIdAndTokenOnlyWhenSet) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(reverse_headers(10001, ""),
            (Headers{{"X-Self-ID", "10001"}, {"X-Client-Role", "Universal"}}));
  EXPECT_EQ(reverse_headers(7, "t"), (Headers{{"X-Self-ID", "7"},
                                              {"X-Client-Role", "Universal"},
                                              {"Authorization", "Bearer t"}}));
}

class ReverseClientTest : public ::testing::Test {
 protected:
  ReverseClientTest() : runtime_(io_, store_, chain_) {}
  ~ReverseClientTest() override {
    if (client_) {
      client_->stop();
      EXPECT_TRUE(test::run_until(io_, [this] { return ended_; }, 5s));
    }
  }

  void start(std::string url, std::string token = "") {
    ReverseClientOptions options;
    options.identity = {"fs", "feishu", 10001, "1.0"};
    options.url = std::move(url);
    options.access_token = std::move(token);
    options.backoff = {20ms, 40ms, 2.0};
    options.ws.connect_timeout = 2s;
    options.unit_random = [] { return 0.5; };
    strand_ = asio::make_strand(io_);
    link_ = std::make_unique<BotLink>(strand_, runtime_, store_, options.identity);
    client_ = std::make_unique<ReverseClient>(strand_, link_->actions(), std::move(options));
    asio::co_spawn(strand_, client_->run({}), [this](std::exception_ptr) { ended_ = true; });
  }

  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  Runtime runtime_;
  asio::any_io_executor strand_;
  std::unique_ptr<BotLink> link_;
  std::unique_ptr<ReverseClient> client_;
  bool ended_ = false;
};

TEST_F(ReverseClientTest, DialsWithTheOneBotHeadersAndTakesEvents) {
  TestWsServer server;
  start(server.url("/onebot/v11/ws"), "secret-token");
  ASSERT_TRUE(test::run_until(io_, [&] { return client_->status().state == "connected"; }, 5s));
  const auto upgrades = server.upgrade_requests();
  ASSERT_EQ(upgrades.size(), 1u);
  EXPECT_EQ(upgrades[0].target(), "/onebot/v11/ws");
  EXPECT_EQ(upgrades[0]["X-Self-ID"], "10001");
  EXPECT_EQ(upgrades[0]["X-Client-Role"], "Universal");
  EXPECT_EQ(upgrades[0][http::field::authorization], "Bearer secret-token");
  auto posted = test::run_on(io_, asio::co_spawn(strand_, client_->post_event("{}"),
                                                 asio::use_awaitable));
  EXPECT_TRUE(posted) << posted.error().message();
}

TEST_F(ReverseClientTest, ARefusingFrameworkIsTriedAgainWithBackoff) {
  TestWsServer server(TestWsServer::Options{false, 1008, "go away"});
  start(server.url());
  ASSERT_TRUE(test::run_until(io_, [&] { return server.upgrade_requests().size() >= 3; }, 5s))
      << "reconnects with backoff after each refusal";
  const auto first = server.upgrade_requests()[0];
  EXPECT_EQ(first.count(http::field::authorization), 0u) << "no token, no Authorization header";
  EXPECT_EQ(first["X-Client-Role"], "Universal");
}

TEST_F(ReverseClientTest, WithoutAFrameworkEventsAreRefusedAndStopEndsTheWait) {
  start("ws://127.0.0.1:1/");  // nothing listens there
  ASSERT_TRUE(test::run_until(io_, [&] { return client_->status().state == "reconnecting"; }, 5s));
  auto posted = test::run_on(io_, asio::co_spawn(strand_, client_->post_event("{}"),
                                                 asio::use_awaitable));
  ASSERT_FALSE(posted);
  EXPECT_TRUE(posted.error().is(errc::platform_unavailable));
  client_->stop();
  EXPECT_TRUE(test::run_until(io_, [this] { return ended_; }, 5s));
  EXPECT_EQ(client_->status().state, "stopped");
  client_.reset();
}

}  // namespace
}  // namespace botgate::onebot
