#include "botgate/api/api_token.hpp"

#include "support/memory_store.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>

namespace botgate::api {
namespace {

TEST(ApiToken, AMadeTokenIs32RandomBytesInHex) {
  const std::string a = make_api_token();
  const std::string b = make_api_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(ApiToken, WithoutAConfiguredOneATokenIsMadeOnceAndKept) {
  test::MemoryStore store;
  const auto first = test::run_sync(load_api_token(store, ""));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->value.size(), 64u);
  const auto kept = store.token(std::string(kApiTokenStoreKey));
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->value, first->value);
  EXPECT_GT(kept->expires_at, std::chrono::system_clock::now() + std::chrono::years(100));

  const auto again = test::run_sync(load_api_token(store, ""));  // the next start
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->generated);
  EXPECT_EQ(again->value, first->value);
}

TEST(ApiToken, AConfiguredTokenWinsAndLeavesTheStoreAlone) {
  test::MemoryStore store;
  const auto token = test::run_sync(load_api_token(store, "operator-token"));
  ASSERT_TRUE(token);
  EXPECT_FALSE(token->generated);
  EXPECT_EQ(token->value, "operator-token");
  EXPECT_FALSE(store.token(std::string(kApiTokenStoreKey)));
}

TEST(ApiToken, TheConsoleUrlCarriesTheTokenInItsFragment) {
  EXPECT_EQ(console_url("127.0.0.1", 8080, "abc"), "http://127.0.0.1:8080/#token=abc");
  EXPECT_EQ(console_url("127.0.0.1", 8080, ""), "http://127.0.0.1:8080/");
  EXPECT_EQ(console_url("0.0.0.0", 80, "t"), "http://127.0.0.1:80/#token=t");
  EXPECT_EQ(console_url("::1", 8081, "t"), "http://[::1]:8081/#token=t");
  EXPECT_EQ(console_url("::", 8081, ""), "http://[::1]:8081/");
}

}  // namespace
}  // namespace botgate::api
