#pragma once
/// The bot's Discord REST client (Discord notes sections 2, 6): every request with the bot token
/// (or an interaction's own), the User-Agent Discord wants, through the bot's rate limiter, and
/// the answer's errors mapped. The sender sends messages through it; the gateway asks it for
/// GET /gateway/bot and the bot's user id. After a 401 the bot token is not used again ("stop
/// using a token after a 401").
///
/// Secrets: neither the bot token nor an interaction token (part of webhook paths) appears in an
/// Error detail or a log line; details name route templates only.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_config.hpp"
#include "botgate/platforms/discord/discord_rate_limits.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::discord {

namespace asio = boost::asio;

/// Sent on every request: Discord wants "DiscordBot ($url, $versionNumber)", and Cloudflare may
/// block requests without a valid one.
inline constexpr const char* kUserAgent = "DiscordBot (https://github.com/botgate/botgate, 0.1)";

/// GET /gateway/bot: where to connect, how many shards, and the identify budget.
struct GatewayBotInfo {
  std::string url;  // "wss://gateway.discord.gg"
  int shards = 1;
  /// session_start_limit
  int total = 0;
  int remaining = 0;
  std::chrono::milliseconds reset_after{0};
  int max_concurrency = 1;
};

/// One REST request.
struct DiscordCall {
  http::verb method = http::verb::get;
  /// After api_base, parameters filled in. May hold an interaction token: never logged.
  std::string path;
  RouteKey route;
  std::string body;
  /// false for interaction webhooks: their token is in the path, the bot token stays home.
  bool with_token = true;
  /// Sending it twice does no harm (a nonce with enforce_nonce, an edit): the HTTP client may
  /// send it again after a connection broke under it. GET and PUT are anyway.
  bool idempotent = false;
};

/// The error for a non-2xx Discord answer (Discord notes 6.4): 429 and JSON codes 20016/20028
/// -> rate_limited with retry_after (from the answer, else 5 s for 20016/20028, 1 s for 429);
/// 401 -> token_rejected; 5xx and other non-4xx -> platform_unavailable; any other 4xx ->
/// platform_rejected "discord <code>: <message>" (or "discord HTTP <status>" without a code).
/// `what` names the call ("POST /channels/{channel_id}/messages") and leads the detail.
Error discord_error(const HttpResponse& response, std::string_view what);

/// Thread safety: calls on the bot's strand (PlatformServices::executor); the sender's and the
/// gateway's may interleave (the limiter has its own lock).
class DiscordApi {
 public:
  DiscordApi(DiscordConfig config, platforms::PlatformServices& services,
             DiscordRateLimitOptions limits = {});

  /// Sends `call` once; a 2xx answer, else its error (see discord_error; a 401 to an
  /// interaction token is platform_rejected: that reply is lost, the bot token is fine).
  asio::awaitable<Result<HttpResponse>> call(const DiscordCall& call);
  /// GET /users/@me: checks the token and learns the bot's user id. A rejected token is
  /// token_rejected with a detail telling where to copy a valid one from. Nothing to check for
  /// an interactions-only bot without a token.
  asio::awaitable<Result<void>> check_token();
  /// GET /gateway/bot, for the gateway: URL, recommended shards, session_start_limit.
  asio::awaitable<Result<GatewayBotInfo>> gateway_bot();

  /// The bot's user id, known after a successful check_token(); empty before.
  const std::string& bot_user_id() const noexcept { return bot_user_id_; }
  /// True once Discord answered 401 to the bot token: no request uses it again.
  bool token_rejected() const noexcept { return token_rejected_; }
  /// The limiter every request passes.
  DiscordRateLimits& rate_limits() noexcept { return limits_; }
  const DiscordRateLimits& rate_limits() const noexcept { return limits_; }
  const std::string& bot_name() const noexcept { return config_.bot_name; }

 private:
  /// GET `path` (a route without parameters) with the bot token; the answer's JSON object, or
  /// nothing when it is not one.
  asio::awaitable<Result<std::optional<boost::json::object>>> get_object(std::string path);
  Error rejected_token_error() const;

  DiscordConfig config_;
  net::HttpClient& http_;
  DiscordRateLimits limits_;
  std::string bot_user_id_;
  bool token_rejected_ = false;
};

}  // namespace botgate::discord
