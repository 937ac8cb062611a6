#include "botgate/net/token_cache.hpp"

#include "botgate/crypto/seal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace botgate::net {

TokenCache::TokenCache(asio::any_io_executor strand, Store& store, std::string store_key,
                       std::string app_secret, TokenFetcher fetch,
                       std::chrono::seconds refresh_margin)
    : strand_(strand),
      store_(store),
      store_key_(std::move(store_key)),
      app_secret_(std::move(app_secret)),
      fetch_(std::move(fetch)),
      refresh_margin_(refresh_margin),
      fetch_done_(strand) {}

bool TokenCache::usable(const CachedToken& token) const {
  return !token.value.empty() &&
         std::chrono::system_clock::now() + refresh_margin_ < token.expires_at;
}

std::optional<SystemTime> TokenCache::expires_at() const noexcept {
  const SystemTime::rep ticks = expiry_ticks_.load(std::memory_order_relaxed);
  if (ticks == 0) return std::nullopt;
  return SystemTime(SystemTime::duration(ticks));
}

void TokenCache::remember(std::optional<CachedToken> token) {
  expiry_ticks_ = token ? token->expires_at.time_since_epoch().count() : 0;
  token_ = std::move(token);
}

asio::awaitable<Result<std::string>> TokenCache::get() {
  if (token_ && usable(*token_)) co_return token_->value;
  if (fetching_) {
    // Single flight: wait for the running fetch and take its outcome.
    co_await fetch_done_.async_wait(asio::as_tuple(asio::use_awaitable));
    // The token that fetch brought is valid even when it is already due for refresh (Feishu
    // answers with the current token, however little time it has left): waiters share it, as
    // the caller that ran the fetch does.
    if (token_ && (usable(*token_) || !last_error_)) co_return token_->value;
    co_return last_error_.value_or(Error{errc::token_unavailable, "token fetch failed"});
  }
  fetching_ = true;
  fetch_done_.expires_at(asio::steady_timer::time_point::max());
  if (!loaded_from_store_) {
    loaded_from_store_ = true;
    auto stored = co_await store_.token_get(store_key_);
    if (stored && *stored) {
      // One that does not open (another app secret, an older plaintext row) is fetched again.
      auto value = crypto::unseal(app_secret_, store_key_, (*stored)->value);
      (*stored)->value = value.value_or(std::string{});
    }
    if (stored && *stored && usable(**stored)) {
      remember(**stored);
      fetching_ = false;
      fetch_done_.cancel();
      co_return token_->value;
    }
  }
  ++fetches_;
  // Whatever ends this fetch (even a throwing fetcher: a bug), the waiters must wake.
  struct WakeWaiters {
    TokenCache& cache;
    ~WakeWaiters() {
      cache.fetching_ = false;
      cache.fetch_done_.cancel();
    }
  } wake{*this};
  auto fetched = co_await fetch_();
  Result<std::string> result = Error{errc::token_unavailable};
  if (fetched) {
    CachedToken token{fetched->value, std::chrono::system_clock::now() + fetched->expires_in};
    remember(token);
    last_error_.reset();
    token.value = crypto::seal(app_secret_, store_key_, token.value);
    auto saved = co_await store_.token_put(store_key_, std::move(token));
    if (!saved) {
      spdlog::warn("token {}: not cached in the store: {}", store_key_, saved.error().message());
    }
    result = token_->value;
  } else {
    last_error_ = fetched.error();
    result = fetched.error();
  }
  co_return result;
}

asio::awaitable<void> TokenCache::invalidate(std::string rejected) {
  if (token_ && token_->value == rejected) {
    remember(std::nullopt);
    (void)co_await store_.token_erase(store_key_);
  }
  loaded_from_store_ = true;  // the stored copy is the rejected one, or older
}

}  // namespace botgate::net
