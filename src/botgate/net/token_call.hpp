#pragma once
/// Every platform call that carries an access token follows one rule: use the cached token, and
/// when the platform answers that the token is invalid or expired, forget it and try once more
/// with a fresh one. Tokens can be revoked early (a new secret, another process that fetched a
/// newer one where the platform keeps only the last), and the cache cannot see that before the
/// platform says so.

#include "botgate/core/error.hpp"
#include "botgate/net/token_cache.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace botgate::net {

/// Logs that the platform refused `bot_name`'s token and a fresh one is fetched.
void log_token_rejected(std::string_view bot_name);

/// `call(token)` with `tokens`' current token. When the call's result is
/// `errc::token_rejected`, the token is invalidated and `call` runs once more with a freshly
/// fetched one; the second result is returned whatever it is (a second refusal is the
/// platform's answer, not a stale cache). A failure to get a token is returned as it is.
///
/// `call` takes `const std::string&` (the token) and returns `asio::awaitable<Result<T>>`; it
/// lives in this coroutine's frame until the result is returned, so references it captures
/// from the caller's frame stay valid. Name the callable before the `co_await` (STYLE.md 4.3
/// rule 8). Thread safety: on the token cache's strand, like every TokenCache call.
template <typename Call>
auto call_with_token(TokenCache& tokens, std::string_view bot_name, Call call)
    -> std::invoke_result_t<Call&, const std::string&> {
  for (int attempt = 0;; ++attempt) {
    auto token = co_await tokens.get();
    if (!token) co_return token.error();
    auto result = co_await call(*token);
    if (result || attempt > 0 || !result.error().is(errc::token_rejected)) co_return result;
    log_token_rejected(bot_name);
    co_await tokens.invalidate(*token);
  }
}

}  // namespace botgate::net
