#include "botgate/net/token_call.hpp"

#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace botgate::net {
namespace {

using namespace std::chrono_literals;

/// A token cache whose endpoint answers "tok-1", "tok-2"... (or fails the first
/// `fetch_failures` times), and a platform call that answers from a script.
class TokenCallTest : public ::testing::Test {
 protected:
  TokenCallTest()
      : strand_(asio::make_strand(io_)),
        tokens_(strand_, store_, "qq:102000000", "app-secret",
                [this]() -> asio::awaitable<Result<FetchedToken>> {
                  ++fetches_;
                  if (fetch_failures_ > 0) {
                    --fetch_failures_;
                    co_return Error{errc::token_unavailable, "app_secret rejected"};
                  }
                  FetchedToken token{"tok-" + std::to_string(fetches_), 7200s};
                  co_return token;
                },
                300s) {}

  /// Runs call_with_token with a call that records each token it is given and answers the
  /// next of `answers`.
  Result<std::string> call(std::vector<Result<std::string>> answers) {
    auto next = answers.begin();
    auto platform_call = [&](const std::string& token) -> asio::awaitable<Result<std::string>> {
      tokens_seen_.push_back(token);
      co_return *next++;
    };
    // On the cache's strand, as the senders call it.
    std::optional<Result<std::string>> result;
    asio::co_spawn(strand_, call_with_token(tokens_, "qq-bot", platform_call),
                   [&](std::exception_ptr e, Result<std::string> r) {
                     if (e) std::rethrow_exception(e);
                     result.emplace(std::move(r));
                   });
    EXPECT_TRUE(test::run_until(io_, [&] { return result.has_value(); }));
    return result ? std::move(*result) : Result<std::string>{Error{errc::timeout}};
  }

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_;
  test::MemoryStore store_;
  int fetches_ = 0;
  int fetch_failures_ = 0;
  TokenCache tokens_;
  std::vector<std::string> tokens_seen_;
};

TEST_F(TokenCallTest, AnAcceptedTokenIsUsedOnce) {
  auto result = call({std::string("sent")});
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, "sent");
  EXPECT_EQ(tokens_seen_, (std::vector<std::string>{"tok-1"}));
  EXPECT_EQ(fetches_, 1);
}

TEST_F(TokenCallTest, ARejectedTokenIsReplacedAndTheCallMadeOnceMore) {
  auto result = call({Error{errc::token_rejected, "11244"}, std::string("sent")});
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, "sent");
  EXPECT_EQ(tokens_seen_, (std::vector<std::string>{"tok-1", "tok-2"}));
  EXPECT_EQ(fetches_, 2);
  // The fresh token stays cached for the next call.
  tokens_seen_.clear();
  ASSERT_TRUE(call({std::string("sent")}));
  EXPECT_EQ(tokens_seen_, (std::vector<std::string>{"tok-2"}));
}

TEST_F(TokenCallTest, ASecondRejectionIsTheAnswer) {
  auto result = call({Error{errc::token_rejected, "first"}, Error{errc::token_rejected, "second"},
                      std::string("never asked")});
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::token_rejected));
  EXPECT_EQ(result.error().detail, "second");
  EXPECT_EQ(tokens_seen_.size(), 2U);
}

TEST_F(TokenCallTest, OtherFailuresAreNotRetried) {
  for (errc code : {errc::platform_rejected, errc::platform_unavailable, errc::rate_limited,
                    errc::delivery_uncertain}) {
    tokens_seen_.clear();
    auto result = call({Error{code, "no"}, std::string("never asked")});
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().is(code));
    EXPECT_EQ(tokens_seen_.size(), 1U);
  }
  EXPECT_EQ(fetches_, 1);  // the token was never invalidated
}

TEST_F(TokenCallTest, NoTokenMeansNoCall) {
  fetch_failures_ = 1;
  auto result = call({std::string("never asked")});
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::token_unavailable));
  EXPECT_TRUE(tokens_seen_.empty());
}

}  // namespace
}  // namespace botgate::net
