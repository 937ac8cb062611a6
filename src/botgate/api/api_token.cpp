#include "botgate/api/api_token.hpp"

#include "botgate/crypto/encoding.hpp"

namespace botgate::api {
namespace {

/// The made token never expires; the cache keeps an expiry for every key, so it gets one far
/// beyond any deployment (and inside the range of every clock's representation).
SystemTime far_future() {
  return SystemTime(std::chrono::sys_days(std::chrono::year(2200) / 1 / 1));
}

}  // namespace

std::string make_api_token() { return crypto::to_hex(crypto::random_bytes(32)); }

asio::awaitable<Result<ApiToken>> load_api_token(Store& store, std::string configured) {
  if (!configured.empty()) co_return ApiToken{std::move(configured), false};
  auto stored = co_await store.token_get(std::string(kApiTokenStoreKey));
  if (!stored) co_return stored.error();
  if (*stored && !(*stored)->value.empty()) co_return ApiToken{(*stored)->value, true};
  CachedToken made{make_api_token(), far_future()};
  std::string value = made.value;
  auto saved = co_await store.token_put(std::string(kApiTokenStoreKey), std::move(made));
  if (!saved) co_return saved.error();
  co_return ApiToken{std::move(value), true};
}

std::string console_url(std::string_view host, std::uint16_t port, std::string_view token) {
  std::string shown(host);
  if (shown == "0.0.0.0" || shown.empty()) shown = "127.0.0.1";
  if (shown == "::" || shown == "[::]") shown = "::1";
  if (shown.find(':') != std::string::npos && !shown.starts_with('[')) shown = "[" + shown + "]";
  std::string url = "http://" + shown + ":" + std::to_string(port) + "/";
  if (!token.empty()) url += "#token=" + std::string(token);
  return url;
}

}  // namespace botgate::api
