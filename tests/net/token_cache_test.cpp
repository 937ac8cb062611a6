#include "botgate/net/token_cache.hpp"

#include "botgate/crypto/seal.hpp"

#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace botgate::net {
namespace {

using namespace std::chrono_literals;
using test::MemoryStore;
using test::run_until;

constexpr const char* kKey = "feishu:cli_test:tenant";
constexpr const char* kAppSecret = "app-secret-that-seals";

/// A token endpoint: answers "tok-<n>" for call n, after `delay`, valid for `expires_in`; the
/// first `failures` calls fail.
class FakeTokenEndpoint {
 public:
  std::chrono::milliseconds delay{0};
  std::chrono::seconds expires_in{7200};
  int failures = 0;
  int calls = 0;

  TokenFetcher fetcher() {
    return [this] { return fetch(); };
  }

 private:
  asio::awaitable<Result<FetchedToken>> fetch() {
    const int call = ++calls;
    if (delay > 0ms) {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (failures > 0) {
      --failures;
      co_return Error{errc::token_unavailable, "app_secret rejected (10014)"};
    }
    FetchedToken token{"tok-" + std::to_string(call), expires_in};
    co_return token;
  }
};

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : strand_(asio::make_strand(io_)) {}

  TokenCache make_cache(std::chrono::seconds margin = 300s) {
    return TokenCache(strand_, store_, kKey, kAppSecret, endpoint_.fetcher(), margin);
  }

  /// The token the store holds, opened as the cache would; nullopt when there is none.
  std::optional<CachedToken> stored_token() {
    auto stored = store_.token(kKey);
    if (!stored) return std::nullopt;
    stored->value = crypto::unseal(kAppSecret, kKey, stored->value).value_or("<does not open>");
    return stored;
  }
  /// Leaves `value` in the store as a previous process would have.
  void put_stored(std::string value, SystemTime expires_at,
                  std::string_view secret = kAppSecret) {
    const CachedToken token{crypto::seal(secret, kKey, value), expires_at};
    ASSERT_TRUE(test::run_on(io_, store_.token_put(kKey, token)));
  }

  /// Runs `awaitable` on the cache's strand and waits for its result.
  template <class T>
  T on_strand(asio::awaitable<T> awaitable) {
    std::optional<T> result;
    asio::co_spawn(strand_, std::move(awaitable), [&](std::exception_ptr e, T value) {
      if (e) {
        std::rethrow_exception(e);
      }
      result.emplace(std::move(value));
    });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    return std::move(*result);
  }

  void invalidate(TokenCache& cache, std::string rejected) {
    bool done = false;
    asio::co_spawn(strand_, cache.invalidate(std::move(rejected)), [&](std::exception_ptr e) {
      if (e) {
        std::rethrow_exception(e);
      }
      done = true;
    });
    EXPECT_TRUE(run_until(io_, [&] { return done; }));
  }

  /// Starts `count` get() calls on the strand at once and waits for all of them.
  std::vector<Result<std::string>> get_concurrently(TokenCache& cache, int count) {
    std::vector<std::optional<Result<std::string>>> slots(count);
    for (int i = 0; i < count; ++i) {
      auto store_result = [&slots, i](std::exception_ptr e, Result<std::string> r) {
        if (e) {
          std::rethrow_exception(e);
        }
        slots[i].emplace(std::move(r));
      };
      asio::co_spawn(strand_, cache.get(), store_result);
    }
    EXPECT_TRUE(run_until(io_, [&] {
      for (const auto& slot : slots) {
        if (!slot) {
          return false;
        }
      }
      return true;
    }));
    std::vector<Result<std::string>> results;
    for (auto& slot : slots) {
      results.push_back(slot ? std::move(*slot) : Result<std::string>{Error{errc::timeout}});
    }
    return results;
  }

  asio::io_context io_;
  asio::any_io_executor strand_;
  MemoryStore store_;
  FakeTokenEndpoint endpoint_;
};

TEST_F(TokenCacheTest, FetchesOnceAndServesFromMemory) {
  TokenCache cache = make_cache();
  EXPECT_FALSE(cache.expires_at());
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  EXPECT_EQ(endpoint_.calls, 1);
  EXPECT_EQ(cache.fetch_count(), 1);
  ASSERT_TRUE(cache.expires_at());
  const auto remaining = *cache.expires_at() - std::chrono::system_clock::now();
  EXPECT_GT(remaining, 7100s);
  EXPECT_LE(remaining, 7200s);
  // The fetched token is written through to the store for the next process.
  const auto stored = stored_token();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->value, "tok-1");
  EXPECT_EQ(stored->expires_at, *cache.expires_at());
}

TEST_F(TokenCacheTest, SingleFlight) {
  endpoint_.delay = 20ms;
  TokenCache cache = make_cache();
  const auto results = get_concurrently(cache, 10);
  EXPECT_EQ(endpoint_.calls, 1);
  EXPECT_EQ(cache.fetch_count(), 1);
  for (const auto& result : results) {
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(*result, "tok-1");
  }
}

TEST_F(TokenCacheTest, SingleFlightHandsAShortLivedTokenToEveryWaiter) {
  // The platform may answer with a token that has less left than the margin (Feishu returns
  // the current token until its last 30 minutes). It is still valid, and the waiters of that
  // fetch get it rather than an error.
  endpoint_.delay = 20ms;
  endpoint_.expires_in = 60s;
  TokenCache cache = make_cache(300s);
  const auto results = get_concurrently(cache, 5);
  EXPECT_EQ(endpoint_.calls, 1);
  for (const auto& result : results) {
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(*result, "tok-1");
  }
}

TEST_F(TokenCacheTest, RefreshesAheadOfExpiry) {
  endpoint_.expires_in = 30s;  // shorter than the margin: due for refresh at once
  TokenCache cache = make_cache(60s);
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-2");
  EXPECT_EQ(endpoint_.calls, 2);
  endpoint_.expires_in = 7200s;
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-3");
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-3");
  EXPECT_EQ(endpoint_.calls, 3);
}

TEST_F(TokenCacheTest, InvalidatingTheRejectedTokenFetchesANewOne) {
  TokenCache cache = make_cache();
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  invalidate(cache, "tok-1");
  EXPECT_FALSE(cache.expires_at());
  EXPECT_FALSE(store_.token(kKey)) << "the rejected token leaves the store too";
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-2");
  EXPECT_EQ(endpoint_.calls, 2);
  ASSERT_TRUE(store_.token(kKey));
  EXPECT_EQ(stored_token()->value, "tok-2");
}

TEST_F(TokenCacheTest, InvalidatingAnOlderTokenKeepsTheCurrentOne) {
  TokenCache cache = make_cache();
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  // A request that went out with an older token came back rejected after the refresh.
  invalidate(cache, "tok-0");
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  EXPECT_EQ(endpoint_.calls, 1);
  EXPECT_TRUE(store_.token(kKey));
}

TEST_F(TokenCacheTest, InvalidateBeforeAnyGetDoesNotReuseTheStoredToken) {
  // The stored copy is the one the platform just rejected.
  put_stored("stale", std::chrono::system_clock::now() + 1h);
  TokenCache cache = make_cache();
  invalidate(cache, "stale");
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
}

TEST_F(TokenCacheTest, AFailedFetchReachesEveryWaiterAndTheNextGetTriesAgain) {
  endpoint_.delay = 20ms;
  endpoint_.failures = 1;
  TokenCache cache = make_cache();
  const auto results = get_concurrently(cache, 5);
  EXPECT_EQ(endpoint_.calls, 1);
  for (const auto& result : results) {
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().is(errc::token_unavailable));
    EXPECT_NE(result.error().detail.find("10014"), std::string::npos) << result.error().detail;
  }
  EXPECT_FALSE(store_.token(kKey));

  auto retried = on_strand(cache.get());
  ASSERT_TRUE(retried) << retried.error().message();
  EXPECT_EQ(*retried, "tok-2");
  EXPECT_EQ(endpoint_.calls, 2);
}

TEST_F(TokenCacheTest, UsesATokenLeftInTheStoreByAPreviousProcess) {
  put_stored("from-before", std::chrono::system_clock::now() + 1h);
  TokenCache cache = make_cache();
  EXPECT_EQ(on_strand(cache.get()).value(), "from-before");
  EXPECT_EQ(on_strand(cache.get()).value(), "from-before");
  EXPECT_EQ(endpoint_.calls, 0);
  EXPECT_EQ(cache.fetch_count(), 0);
  EXPECT_EQ(store_.token_gets(), 1) << "the store is read once, then memory serves";
}

TEST_F(TokenCacheTest, WaitersOfAStoreReadGetTheStoredToken) {
  put_stored("from-before", std::chrono::system_clock::now() + 1h);
  TokenCache cache = make_cache();
  for (const auto& result : get_concurrently(cache, 5)) {
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, "from-before");
  }
  EXPECT_EQ(endpoint_.calls, 0);
}

TEST_F(TokenCacheTest, AStoredTokenNearExpiryIsFetchedAgain) {
  put_stored("nearly-expired", std::chrono::system_clock::now() + 30s);
  TokenCache cache = make_cache(60s);
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  EXPECT_EQ(endpoint_.calls, 1);
  EXPECT_EQ(stored_token()->value, "tok-1");
}

TEST_F(TokenCacheTest, TheStoreHoldsTheTokenSealedNotInClear) {
  TokenCache cache = make_cache();
  EXPECT_EQ(on_strand(cache.get()).value(), "tok-1");
  const auto raw = store_.token(kKey);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->value.find("tok-1"), std::string::npos) << raw->value;
  EXPECT_EQ(stored_token()->value, "tok-1");
  EXPECT_EQ(endpoint_.calls, 1);
}

TEST_F(TokenCacheTest, AStoredTokenThatDoesNotOpenIsFetchedAgain) {
  // Sealed under an app secret since changed; then a plaintext row of an older botgate.
  put_stored("sealed-with-the-old-secret", std::chrono::system_clock::now() + 1h,
             "the-old-app-secret");
  TokenCache cache = make_cache();
  auto token = on_strand(cache.get());
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(*token, "tok-1");
  EXPECT_EQ(stored_token()->value, "tok-1") << "replaced by one that opens";

  const CachedToken plain{"plain-from-before", std::chrono::system_clock::now() + 1h};
  ASSERT_TRUE(test::run_on(io_, store_.token_put(kKey, plain)));
  TokenCache next = make_cache();
  EXPECT_EQ(on_strand(next.get()).value(), "tok-2");
  EXPECT_EQ(endpoint_.calls, 2);
}

}  // namespace
}  // namespace botgate::net
