#include "botgate/net/connect.hpp"

#include "support/net_test_servers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace botgate::net::detail {
namespace {

TEST(SharedClientTls, OneContextPerCaFileWhileHeld) {
  const std::string ca = test::testdata_path("net/ca.pem");
  auto first = shared_client_tls(ca);
  auto again = shared_client_tls(ca);
  EXPECT_EQ(first.get(), again.get());
  auto system_only = shared_client_tls("");
  EXPECT_NE(first.get(), system_only.get());
}

TEST(SharedClientTls, MadeAgainOnceNoneHoldsIt) {
  const std::string ca = test::testdata_path("net/ca.pem");
  std::weak_ptr<asio::ssl::context> released;
  {
    auto held = shared_client_tls(ca);
    released = held;
  }
  EXPECT_TRUE(released.expired());  // the cache does not keep a trust store alive
  auto made = shared_client_tls(ca);
  ASSERT_NE(made, nullptr);
  EXPECT_EQ(made.get(), shared_client_tls(ca).get());
}

TEST(SharedClientTls, ThreadsGetTheSameContext) {
  const std::string ca = test::testdata_path("net/ca.pem");
  std::vector<std::shared_ptr<asio::ssl::context>> got(4);
  std::vector<std::thread> threads;
  for (auto& slot : got) {
    threads.emplace_back([&slot, &ca] { slot = shared_client_tls(ca); });
  }
  for (auto& t : threads) t.join();
  for (const auto& context : got) EXPECT_EQ(context.get(), got.front().get());
}

TEST(SharedClientTls, AMissingCaFileThrowsAndIsNotCached) {
  const std::string missing = test::testdata_path("net/no-such-ca.pem");
  EXPECT_THROW(shared_client_tls(missing), std::invalid_argument);
  EXPECT_THROW(shared_client_tls(missing), std::invalid_argument);
}

}  // namespace
}  // namespace botgate::net::detail
