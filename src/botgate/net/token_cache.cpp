#include "botgate/net/token_cache.hpp"

#include "botgate/core/lease_holder.hpp"
#include "botgate/crypto/seal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace botgate::net {
namespace {

/// How long one fetch may keep the other instances waiting: a fetch that takes longer lets
/// them fetch too (two fetches, never a stall).
constexpr std::chrono::seconds kFetchLeaseTtl{15};
/// How often a waiting instance looks for the token the fetching one stores.
constexpr std::chrono::milliseconds kStoreRecheck{250};

std::string fetch_lease_name(const std::string& store_key) { return "token:" + store_key; }

}  // namespace

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
  // Whatever ends this fetch (even a throwing fetcher: a bug), the waiters must wake.
  struct WakeWaiters {
    TokenCache& cache;
    ~WakeWaiters() {
      cache.fetching_ = false;
      cache.fetch_done_.cancel();
    }
  } wake{*this};
  const bool read_now = !loaded_from_store_;
  if (read_now) {
    loaded_from_store_ = true;
    if (auto stored = co_await stored_token()) {
      remember(std::move(stored));
      co_return token_->value;
    }
  }
  FetchTurn turn = co_await take_fetch_turn(read_now);
  if (turn.shared) {
    // Another instance fetched it while this one waited.
    remember(std::move(turn.shared));
    last_error_.reset();
    co_return token_->value;
  }
  ++fetches_;
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
  if (turn.lease) {
    // The token is in the store (or the fetch failed): the next instance need not wait.
    (void)co_await store_.lease_release(fetch_lease_name(store_key_), process_lease_holder(),
                                        turn.lease->epoch);
  }
  co_return result;
}

asio::awaitable<std::optional<CachedToken>> TokenCache::stored_token() {
  auto stored = co_await store_.token_get(store_key_);
  if (!stored || !*stored) co_return std::nullopt;
  // One that does not open (another app secret, an older plaintext row) is fetched again.
  auto value = crypto::unseal(app_secret_, store_key_, (*stored)->value);
  if (!value || *value == rejected_) co_return std::nullopt;
  (*stored)->value = std::move(*value);
  if (!usable(**stored)) co_return std::nullopt;
  co_return std::move(*stored);
}

asio::awaitable<TokenCache::FetchTurn> TokenCache::take_fetch_turn(bool store_read_now) {
  const std::string name = fetch_lease_name(store_key_);
  const auto give_up = std::chrono::steady_clock::now() + kFetchLeaseTtl + kStoreRecheck;
  asio::steady_timer timer(strand_);
  bool waited = false;
  for (;;) {
    auto lease = co_await store_.lease_acquire(name, process_lease_holder(), kFetchLeaseTtl);
    if (!lease) {
      spdlog::warn("token {}: cannot take the fetch lease ({}); fetching anyway", store_key_,
                   lease.error().message());
      co_return FetchTurn{};
    }
    if (*lease) {
      FetchTurn turn;
      turn.lease = **lease;
      // Its last holder may have stored a token just before it freed the lease (a refresh:
      // every instance's copy comes due at once).
      if (waited || !store_read_now) turn.shared = co_await stored_token();
      co_return turn;
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      // Its holder took longer than the lease lasts yet still holds it: fetch too.
      co_return FetchTurn{};
    }
    waited = true;
    timer.expires_after(kStoreRecheck);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (auto shared = co_await stored_token()) {
      FetchTurn turn;
      turn.shared = std::move(shared);
      co_return turn;
    }
  }
}

asio::awaitable<void> TokenCache::invalidate(std::string rejected) {
  rejected_ = rejected;
  if (token_ && token_->value == rejected) {
    remember(std::nullopt);
    (void)co_await store_.token_erase(store_key_);
  }
  loaded_from_store_ = true;  // the stored copy is the rejected one, or older
}

}  // namespace botgate::net
