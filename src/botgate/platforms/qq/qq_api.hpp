#pragma once
/// The bot's QQ OpenAPI client (QQ notes sections 2, 4.2, 6): the access token (a TokenCache
/// stored as "qq:<app_id>", fetched again 60 s before it expires, inside QQ's overlap), the
/// headers every call carries (`Authorization: QQBot <token>`, `X-Union-Appid`), and the calls
/// the gateway needs. The sender sends messages through it; the gateway asks it for
/// GET /gateway/bot and for the credential its identify and resume carry.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"
#include "botgate/net/token_cache.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/common/sharded_gateway.hpp"
#include "botgate/platforms/qq/qq_config.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace botgate::qq {

namespace asio = boost::asio;

/// Thread safety: every call on the bot's strand (PlatformServices::executor).
class QqApi {
 public:
  QqApi(QqConfig config, platforms::PlatformServices& services);

  /// Fetches the access token (or finds it cached).
  asio::awaitable<Result<void>> check_token();
  /// POST {api_base}{path} with `token` and a JSON body; the answer as it came. `idempotent`:
  /// the HTTP client may send it again after a connection broke under it.
  asio::awaitable<Result<HttpResponse>> post(const std::string& path, std::string body,
                                             const std::string& token, bool idempotent);
  /// DELETE {api_base}{path} with `token`; the answer as it came (a second delete of a message
  /// changes nothing: it is idempotent).
  asio::awaitable<Result<HttpResponse>> remove(const std::string& path, const std::string& token);
  /// "QQBot <access token>", what the gateway's identify and resume carry (fetched, or
  /// refreshed, as needed: it may have expired while the gateway was disconnected).
  asio::awaitable<Result<std::string>> authorization();
  /// QQ refused `authorization` (gateway close code 4004): its token is dropped from the cache,
  /// so the next authorization() fetches a new one.
  asio::awaitable<void> authorization_rejected(std::string authorization);
  /// GET /gateway/bot (notes 4.2): the WebSocket URL, recommended shards, max_concurrency.
  asio::awaitable<Result<platforms::GatewayInfo>> gateway_info();

  /// The token cache, for calls that go through net::call_with_token.
  net::TokenCache& tokens() noexcept { return tokens_; }
  std::optional<std::chrono::system_clock::time_point> token_expires_at() const {
    return tokens_.expires_at();
  }
  /// How many token fetches ran (tests).
  int token_fetches() const noexcept { return tokens_.fetch_count(); }
  const std::string& bot_name() const noexcept { return config_.bot_name; }

 private:
  QqConfig config_;
  net::HttpClient& http_;
  net::TokenCache tokens_;
};

}  // namespace botgate::qq
