#include "botgate/platforms/discord/discord_api.hpp"

#include "botgate/core/utf8.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/shared_rate.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::discord {
namespace json = boost::json;
namespace {

using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

// 20016 slowmode / 20028 channel write limit without a readable retry_after.
constexpr std::chrono::milliseconds kWriteLimitWait{5000};
// A 429 without a readable retry_after.
constexpr std::chrono::milliseconds kDefaultRetryAfter{1000};
// Enough of Discord's message for a log line.
constexpr std::size_t kMaxMessage = 200;

/// The start of `text`, at most `max_bytes`, cut between UTF-8 characters.
std::string clip(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, utf8_prefix_length(text, max_bytes))) + "...";
}

/// 50035 Invalid Form Body nests its reasons: {"errors":{"content":{"_errors":[{"code":..,
/// "message":"Must be 2000 or fewer in length."}]}}}. The first one, as "content: Must be..".
std::string first_form_error(const json::object& errors, std::string path = {}) {
  for (const auto& [key, value] : errors) {
    if (key == "_errors" && value.is_array() && !value.get_array().empty() &&
        value.get_array().front().is_object()) {
      return path + ": " + string_at(value.get_array().front().get_object(), "message");
    }
    if (value.is_object()) {
      std::string inner = first_form_error(
          value.get_object(), path.empty() ? std::string(key) : path + "." + std::string(key));
      if (!inner.empty()) return inner;
    }
  }
  return {};
}

Error network_error(const Error& error, std::string_view what) {
  // HttpClient details name host and port only, never the target (which may hold a token).
  if (error.is(errc::cancelled) || error.is(errc::invalid_argument)) return error;
  if (error.is(errc::delivery_uncertain)) {
    return Error{errc::delivery_uncertain, std::string(what) + ": " + error.detail};
  }
  return Error{errc::platform_unavailable, std::string(what) + ": " + error.message()};
}

}  // namespace

Error discord_error(const HttpResponse& response, std::string_view what) {
  const unsigned status = response.result_int();
  const auto body = parse_object(response.body());
  // A plain value, not an optional: GCC 12 at -O2 wrongly calls the optional's value
  // "maybe uninitialized" here.
  const std::optional<std::int64_t> code_field = body ? int_at(*body, "code") : std::nullopt;
  const bool has_code = code_field.has_value();
  const std::int64_t code = code_field.value_or(0);
  std::string message = body ? clip(string_at(*body, "message"), kMaxMessage) : std::string();
  if (has_code && code == 50035) {
    if (const auto* errors = object_at(*body, "errors")) {
      if (auto reason = first_form_error(*errors); !reason.empty()) {
        message += " (" + clip(reason, kMaxMessage) + ")";
      }
    }
  }
  const std::string prefix = std::string(what) + ": discord ";
  if (has_code && (code == 20016 || code == 20028)) {
    // Slowmode / channel write limit: the channel, not the bot, is too fast for now.
    return Error{errc::rate_limited, prefix + std::to_string(code) + ": " + message,
                 discord_retry_after(response).value_or(kWriteLimitWait)};
  }
  if (status == 429) {
    const json::value* global_field = body ? body->if_contains("global") : nullptr;
    const bool global = response["X-RateLimit-Global"] == "true" ||
                        (global_field != nullptr && global_field->is_bool() &&
                         global_field->get_bool());
    return Error{errc::rate_limited,
                 prefix + "429: " + (global ? "global rate limit" : "rate limited"),
                 discord_retry_after(response).value_or(kDefaultRetryAfter)};
  }
  if (status == 401) {
    return Error{errc::token_rejected,
                 prefix + "401: " + (message.empty() ? "Unauthorized" : message)};
  }
  if (status >= 500 || status < 400) {
    return Error{errc::platform_unavailable, prefix + "HTTP " + std::to_string(status)};
  }
  if (has_code) {
    return Error{errc::platform_rejected, prefix + std::to_string(code) + ": " + message};
  }
  return Error{errc::platform_rejected, prefix + "HTTP " + std::to_string(status)};
}

DiscordApi::DiscordApi(DiscordConfig config, platforms::PlatformServices& services,
                       DiscordRateLimitOptions limits)
    : config_(std::move(config)),
      http_(services.http),
      // Discord counts the global limit per bot token: every instance running it shares this.
      limits_(services.executor, services.store,
              platforms::digest_rate_key("discord:global", config_.token), limits) {}

Error DiscordApi::rejected_token_error() const {
  return Error{errc::token_rejected,
               "Discord rejected the bot token of bot '" + config_.bot_name +
                   "' (HTTP 401): copy the bot token from the Developer Portal's Bot page "
                   "(https://discord.com/developers/applications > your application > Bot > "
                   "Reset Token) into `token`, then restart botgate"};
}

asio::awaitable<Result<HttpResponse>> DiscordApi::call(const DiscordCall& request) {
  if (request.with_token && token_rejected_) co_return rejected_token_error();
  if (request.with_token && config_.token.empty()) {
    co_return Error{errc::token_rejected,
                    "bot '" + config_.bot_name +
                        "' has no Discord token: copy the bot token from the Developer Portal's "
                        "Bot page into `token`"};
  }
  auto admitted = co_await limits_.acquire(request.route);
  if (!admitted) co_return admitted.error();

  HttpRequest http_request{request.method, "/", 11};
  if (request.with_token) http_request.set(http::field::authorization, "Bot " + config_.token);
  http_request.set(http::field::user_agent, kUserAgent);
  // "a missing Content-Type gives 50035 Invalid Form Body" (a body-less GET or DELETE has none).
  if (!request.body.empty()) http_request.set(http::field::content_type, "application/json");
  http_request.body() = request.body;
  std::string url = config_.api_base + request.path;
  net::RequestOptions options;
  options.idempotent = request.idempotent;
  auto response = co_await http_.send(std::move(url), std::move(http_request), options);
  if (!response) co_return network_error(response.error(), request.route.route);

  co_await limits_.learn(request.route, *response);
  const unsigned status = response->result_int();
  if (status >= 200 && status < 300) co_return std::move(*response);
  Error error = discord_error(*response, request.route.route);
  if (status == 401) {
    if (!request.with_token) {
      // An interaction token that expired (15 minutes) or was never valid: that reply cannot
      // be sent, but the bot token is fine.
      co_return Error{errc::platform_rejected, error.detail};
    }
    // "A 401 means the token is invalid -> stop, do not loop" (Discord notes 1 and 6.2): each
    // further 401 would count toward Cloudflare's invalid-request ban.
    if (!token_rejected_) {
      spdlog::error("bot {}: Discord rejected the bot token (HTTP 401); no further request uses "
                    "it. Copy a valid token from the Developer Portal's Bot page and restart",
                    config_.bot_name);
    }
    token_rejected_ = true;
    co_return rejected_token_error();
  }
  co_return error;
}

asio::awaitable<Result<std::optional<json::object>>> DiscordApi::get_object(std::string path) {
  DiscordCall request;
  request.method = http::verb::get;
  request.route = RouteKey{"GET " + path, ""};
  request.path = std::move(path);
  auto response = co_await call(request);
  if (!response) co_return response.error();
  co_return parse_object(response->body());
}

asio::awaitable<Result<void>> DiscordApi::check_token() {
  if (config_.token.empty()) {
    // An interactions-only bot (gateway = false): its replies are authorised by each
    // interaction's own token, so there is nothing to check.
    co_return Result<void>{};
  }
  auto answer = co_await get_object("/users/@me");
  if (!answer) co_return answer.error();
  const std::optional<json::object>& body = *answer;
  const std::string id = body ? string_at(*body, "id") : std::string();
  if (id.empty()) {
    co_return Error{errc::platform_unavailable, "GET /users/@me: answer without a user id"};
  }
  bot_user_id_ = id;
  spdlog::info("bot {}: Discord token accepted (bot user {} id {})", config_.bot_name,
               string_at(*body, "username"), bot_user_id_);
  co_return Result<void>{};
}

asio::awaitable<Result<GatewayBotInfo>> DiscordApi::gateway_bot() {
  auto answer = co_await get_object("/gateway/bot");
  if (!answer) co_return answer.error();
  const std::optional<json::object>& body = *answer;
  GatewayBotInfo info;
  if (body) {
    info.url = string_at(*body, "url");
    info.shards = static_cast<int>(int_at(*body, "shards").value_or(1));
    if (const auto* limit = object_at(*body, "session_start_limit")) {
      info.total = static_cast<int>(int_at(*limit, "total").value_or(0));
      info.remaining = static_cast<int>(int_at(*limit, "remaining").value_or(0));
      info.reset_after = std::chrono::milliseconds(int_at(*limit, "reset_after").value_or(0));
      info.max_concurrency = static_cast<int>(int_at(*limit, "max_concurrency").value_or(1));
    }
  }
  if (info.url.empty()) {
    co_return Error{errc::platform_unavailable, "GET /gateway/bot: answer without a url"};
  }
  if (info.shards < 1) info.shards = 1;
  if (info.max_concurrency < 1) info.max_concurrency = 1;
  co_return info;
}

}  // namespace botgate::discord
