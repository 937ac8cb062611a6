#include "botgate/platforms/discord/discord_sender.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/discord/discord_markup.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::discord {
namespace json = boost::json;
namespace {

using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

constexpr std::string_view kInteractionPrefix = "interaction:";
// "nonce + enforce_nonce: <= 25 chars".
constexpr std::size_t kMaxNonce = 25;
// 20016 slowmode / 20028 channel write limit without a readable retry_after.
constexpr std::chrono::milliseconds kWriteLimitWait{5000};
// A 429 without a readable retry_after.
constexpr std::chrono::milliseconds kDefaultRetryAfter{1000};
// Enough of Discord's message for a log line.
constexpr std::size_t kMaxMessage = 200;

const char* const kChannelMessages = "POST /channels/{channel_id}/messages";
const char* const kEditOriginal =
    "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";
const char* const kFollowUp = "POST /webhooks/{application_id}/{interaction_token}";

/// The start of `text`, at most `max_bytes`, cut between UTF-8 characters.
std::string clip(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
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

Result<DiscordContent> content_of(const OutgoingMessage& message) {
  auto content = render_discord_content(message.segments);
  if (!content) return content.error();
  if (content->content.empty() && content->image_urls.empty()) {
    // Discord would answer 50006; no need to spend a request on it.
    return Error{errc::platform_rejected, "discord: cannot send an empty message"};
  }
  if (content->image_urls.size() > kMaxEmbeds) {
    spdlog::warn("bot {}: message with {} images; Discord takes {}, the rest are dropped",
                 message.bot, content->image_urls.size(), kMaxEmbeds);
  }
  return content;
}

Result<SentMessage> sent_from(const HttpResponse& response) {
  SentMessage sent;
  // Only the id is kept of the message object Discord answers with: its tree lives in a stack
  // arena instead of an allocation per value.
  alignas(std::max_align_t) unsigned char arena_buffer[4096];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  if (auto body = parse_object(response.body(), json::storage_ptr(&arena))) {
    sent.platform_message_id = string_at(*body, "id");
  }
  return sent;
}

}  // namespace

struct DiscordSender::Call {
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

std::optional<InteractionReply> parse_interaction_context(std::string_view reply_context) {
  if (!reply_context.starts_with(kInteractionPrefix)) return std::nullopt;
  reply_context.remove_prefix(kInteractionPrefix.size());
  const auto colon = reply_context.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == reply_context.size()) {
    return std::nullopt;
  }
  return InteractionReply{std::string(reply_context.substr(0, colon)),
                          std::string(reply_context.substr(colon + 1))};
}

std::string discord_nonce(std::string_view idempotency_key) {
  if (idempotency_key.size() <= kMaxNonce) return std::string(idempotency_key);
  return crypto::to_hex(crypto::sha256(idempotency_key)).substr(0, kMaxNonce);
}

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

DiscordSender::DiscordSender(DiscordConfig config, platforms::PlatformServices& services,
                             DiscordRateLimitOptions limits)
    : config_(std::move(config)), http_(services.http), limits_(services.executor, limits) {}

Error DiscordSender::rejected_token_error() const {
  return Error{errc::token_rejected,
               "Discord rejected the bot token of bot '" + config_.bot_name +
                   "' (HTTP 401): copy the bot token from the Developer Portal's Bot page "
                   "(https://discord.com/developers/applications > your application > Bot > "
                   "Reset Token) into `token`, then restart botgate"};
}

asio::awaitable<Result<HttpResponse>> DiscordSender::call(const Call& request) {
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
  // "a missing Content-Type gives 50035 Invalid Form Body".
  http_request.set(http::field::content_type, "application/json");
  http_request.body() = request.body;
  std::string url = config_.api_base + request.path;
  net::RequestOptions options;
  options.idempotent = request.idempotent;
  auto response = co_await http_.send(std::move(url), std::move(http_request), options);
  if (!response) co_return network_error(response.error(), request.route.route);

  limits_.update(request.route, *response);
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

asio::awaitable<Result<void>> DiscordSender::prepare() {
  if (config_.token.empty()) {
    // An interactions-only bot (gateway = false): its replies are authorised by each
    // interaction's own token, so there is nothing to check.
    co_return Result<void>{};
  }
  Call request;
  request.method = http::verb::get;
  request.path = "/users/@me";
  request.route = RouteKey{"GET /users/@me", ""};
  auto response = co_await call(request);
  if (!response) co_return response.error();
  auto body = parse_object(response->body());
  const std::string id = body ? string_at(*body, "id") : std::string();
  if (id.empty()) {
    co_return Error{errc::platform_unavailable, "GET /users/@me: answer without a user id"};
  }
  bot_user_id_ = id;
  spdlog::info("bot {}: Discord token accepted (bot user {} id {})", config_.bot_name,
               string_at(*body, "username"), bot_user_id_);
  co_return Result<void>{};
}

std::vector<OutgoingMessage> DiscordSender::split(OutgoingMessage message) const {
  return split_discord_message(std::move(message));
}

asio::awaitable<Result<SentMessage>> DiscordSender::send(const OutgoingMessage& message) {
  if (auto interaction = parse_interaction_context(message.reply_credential)) {
    co_return co_await send_to_interaction(message, *interaction);
  }
  co_return co_await send_to_channel(message);
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_to_channel(
    const OutgoingMessage& message) {
  if (message.chat_id.empty()) {
    co_return Error{errc::platform_rejected, "discord: no channel id (chat_id) to send to"};
  }
  auto content = content_of(message);
  if (!content) co_return content.error();
  const bool reply = !message.reply_to.empty();
  json::object body = discord_message_body(*content, reply);
  if (reply) {
    // fail_if_not_exists false: a reply to a deleted message is still delivered, as a plain one.
    body["message_reference"] =
        json::object{{"message_id", message.reply_to}, {"fail_if_not_exists", false}};
  }
  // "Discord dedupes creates with the same nonce by the same author for a few minutes and
  // returns the existing message": a retry after a lost answer is not posted twice.
  Call request;
  if (std::string nonce = discord_nonce(message.idempotency_key); !nonce.empty()) {
    body["nonce"] = nonce;
    body["enforce_nonce"] = true;
    request.idempotent = true;
  }
  request.method = http::verb::post;
  request.path = "/channels/" + net::percent_encode(message.chat_id) + "/messages";
  request.route = RouteKey{kChannelMessages, message.chat_id};
  request.body = json::serialize(body);
  auto response = co_await call(request);
  if (!response) co_return response.error();
  co_return sent_from(*response);
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_to_interaction(
    const OutgoingMessage& message, const InteractionReply& interaction) {
  auto content = content_of(message);
  if (!content) co_return content.error();
  // The first reply to the event fills the deferred response ("thinking..."); the others
  // follow it. Editing is idempotent, so a retried first reply cannot show up twice.
  const bool first = message.idempotency_key.ends_with("-0");
  const std::string webhook = "/webhooks/" + net::percent_encode(interaction.application_id) +
                              "/" + net::percent_encode(interaction.token);
  Call request;
  request.method = first ? http::verb::patch : http::verb::post;
  // An edit of @original twice shows the same message; a follow-up twice is two messages.
  request.idempotent = first;
  request.path = first ? webhook + "/messages/@original" : webhook;
  // The major parameter of webhook routes is webhook id + token; a digest stands in for the
  // token so that the limiter never holds it.
  request.route = RouteKey{first ? kEditOriginal : kFollowUp,
                           interaction.application_id + ":" +
                               crypto::to_hex(crypto::sha256(interaction.token)).substr(0, 16)};
  request.body = json::serialize(discord_message_body(*content, false));
  request.with_token = false;
  auto response = co_await call(request);
  if (!response) co_return response.error();
  co_return sent_from(*response);
}

asio::awaitable<Result<GatewayBotInfo>> DiscordSender::gateway_bot() {
  Call request;
  request.method = http::verb::get;
  request.path = "/gateway/bot";
  request.route = RouteKey{"GET /gateway/bot", ""};
  auto response = co_await call(request);
  if (!response) co_return response.error();
  auto body = parse_object(response->body());
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
