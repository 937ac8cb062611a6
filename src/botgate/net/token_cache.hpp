#pragma once
/// An access token, cached in memory and in the store, refreshed ahead of expiry, fetched by
/// one request at a time however many callers wait for it (single flight). In the store it is
/// sealed (crypto/seal) with a key derived from the app secret that fetches it. Several
/// instances on one store fetch once between them: the fetch runs under the store lease
/// `token:<store key>`, and an instance that cannot take it waits for the token in the store.

#include "botgate/core/error.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace botgate::net {

namespace asio = boost::asio;

struct FetchedToken {
  std::string value;
  std::chrono::seconds expires_in{0};  // remaining lifetime as the platform states it
};

using TokenFetcher = std::function<asio::awaitable<Result<FetchedToken>>()>;

/// Thread safety: every call on the strand given to the constructor (the bot's strand), except
/// expires_at(), which the status views call from any thread.
class TokenCache {
 public:
  /// `store_key` names the token in the store ("feishu:cli_x:tenant"); `refresh_margin` is how
  /// long before expiry a new token is fetched. `app_secret` (the one the fetch sends) seals the
  /// stored copy: a copy of the database alone gives no token, while whoever holds the secret
  /// can fetch one anyway, so it protects the token exactly as well as the secret is protected,
  /// with no key file of its own to lose or leave beside the database. A new secret makes the
  /// stored token unreadable, and it is fetched again with the new one.
  TokenCache(asio::any_io_executor strand, Store& store, std::string store_key,
             std::string app_secret, TokenFetcher fetch, std::chrono::seconds refresh_margin);

  /// The current token: from memory, else from the store, else fetched. Callers that arrive
  /// while a fetch is running wait for that fetch instead of starting another.
  asio::awaitable<Result<std::string>> get();
  /// Forgets `rejected` (the platform said it is invalid) so the next get() fetches anew.
  /// A different, newer token in the cache is kept.
  asio::awaitable<void> invalidate(std::string rejected);
  /// When the cached token expires, if one is cached.
  std::optional<SystemTime> expires_at() const noexcept;
  /// How many fetches ran (for tests and metrics).
  int fetch_count() const noexcept { return fetches_; }

 private:
  bool usable(const CachedToken& token) const;
  /// Sets token_ and the expiry that expires_at() reads.
  void remember(std::optional<CachedToken> token);
  /// The token in the store, when it opens with the app secret and is usable.
  asio::awaitable<std::optional<CachedToken>> stored_token();
  /// Before a fetch: takes the lease that makes it the cluster's only fetch (`lease`), or finds
  /// the token another instance fetched meanwhile (`shared`). Neither: fetch anyway (the store
  /// cannot say, or the lease's holder took longer than its ttl). Bounded by the lease's ttl.
  /// `store_read_now`: the store was just read and had none (no need to read it again).
  struct FetchTurn {
    std::optional<CachedToken> shared;
    std::optional<Lease> lease;
  };
  asio::awaitable<FetchTurn> take_fetch_turn(bool store_read_now);

  asio::any_io_executor strand_;
  Store& store_;
  std::string store_key_;
  std::string app_secret_;  // a secret: never logged
  TokenFetcher fetch_;
  std::chrono::seconds refresh_margin_;
  std::optional<CachedToken> token_;
  std::atomic<SystemTime::rep> expiry_ticks_{0};  // token_'s expiry since the epoch; 0: none
  bool loaded_from_store_ = false;
  bool fetching_ = false;
  std::optional<Error> last_error_;
  std::string rejected_;  // the last token the platform refused: never taken from the store again
  asio::steady_timer fetch_done_;  // cancelled when a fetch ends: wakes the waiters
  int fetches_ = 0;
};

}  // namespace botgate::net
