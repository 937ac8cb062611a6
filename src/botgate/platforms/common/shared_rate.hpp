#pragma once
/// A platform's rate limit that every botgate instance on the store counts together
/// (Store::rate_take): a WeCom webhook's 20 messages a minute, Discord's 50 requests a second per
/// bot. The sender asks before each call the platform counts; a refusal waits in the outbox.
/// Which store answers (in memory for SQLite, Redis for several instances) is the store's
/// business, not the platform's.

#include "botgate/core/error.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace botgate::platforms {

namespace asio = boost::asio;

/// How long a send is held back when the store gives no answer about a limit (Redis out of
/// reach): it is never sent past a limit it could not check.
inline constexpr std::chrono::seconds kRateUncheckedWait{1};

/// The key a limit on `name` is counted under: `scope` and a digest of `name`, never `name`
/// itself, which may be a secret (a webhook key, a bot token) or a person's id, while store
/// keys are neither kept secret nor private.
std::string digest_rate_key(std::string_view scope, std::string_view name);

/// The error for a limit the store could not check (`store_error`): errc::rate_limited with
/// kRateUncheckedWait, so that the outbox tries the message again without counting an attempt
/// at the platform. `what` names the limit.
Error rate_unchecked(std::string_view what, const Error& store_error);

/// Takes one use of `key` (`limit` in any `window`). Nothing: go. errc::rate_limited with
/// retry_after when the limit is used up or held (`what` names it in the detail), or when the
/// store gives no answer (rate_unchecked).
asio::awaitable<Result<void>> take_shared_rate(Store& store, std::string key, std::size_t limit,
                                               std::chrono::milliseconds window,
                                               std::string what);

}  // namespace botgate::platforms
