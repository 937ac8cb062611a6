#include "botgate/platforms/common/shared_rate.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

namespace botgate::platforms {
namespace {

// Hex digits of the name's SHA-256 kept in a key: 128 bits tell any two names apart.
constexpr std::size_t kDigestHex = 32;

}  // namespace

std::string digest_rate_key(std::string_view scope, std::string_view name) {
  return std::string(scope) + ":" + crypto::to_hex(crypto::sha256(name)).substr(0, kDigestHex);
}

Error rate_unchecked(std::string_view what, const Error& store_error) {
  return Error{errc::rate_limited,
               "not sent: " + std::string(what) + " could not be checked (" +
                   store_error.message() + ")",
               std::chrono::duration_cast<std::chrono::milliseconds>(kRateUncheckedWait)};
}

asio::awaitable<Result<void>> take_shared_rate(Store& store, std::string key, std::size_t limit,
                                               std::chrono::milliseconds window,
                                               std::string what) {
  auto taken = co_await store.rate_take(std::move(key), limit, window);
  if (!taken) co_return rate_unchecked(what, taken.error());
  if (const std::optional<std::chrono::milliseconds>& wait = *taken) {
    co_return Error{errc::rate_limited, std::move(what), *wait};
  }
  co_return Result<void>{};
}

}  // namespace botgate::platforms
