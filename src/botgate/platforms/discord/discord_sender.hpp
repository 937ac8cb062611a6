#pragma once
/// Sends Discord messages over REST v10 (Discord notes sections 2, 4.3, 6):
/// - a reply to an interaction (reply_credential "interaction:<application_id>:<token>", set by the
///   interactions webhook, which answered with a deferred response, type 5): the first reply to
///   the event (idempotency key ending in "-0") edits the deferred response, PATCH
///   /webhooks/{application_id}/{token}/messages/@original; any other posts a follow-up, POST
///   /webhooks/{application_id}/{token}. The interaction token authorises these: the bot token
///   is never sent to them;
/// - anything else: POST /channels/{chat_id}/messages with the bot token, a message_reference
///   when it replies, and nonce + enforce_nonce from the idempotency key, so that a retried send
///   is never posted twice.
/// Every request passes the bot's DiscordRateLimits first and informs it of the answer. After a
/// 401 the bot token is not used again ("stop using a token after a 401").
///
/// Secrets: neither the bot token nor an interaction token (which is part of webhook URLs)
/// appears in an Error detail or a log line; details name route templates only.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_config.hpp"
#include "botgate/platforms/discord/discord_rate_limits.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::discord {

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

/// An interaction to answer, read from OutgoingMessage::reply_credential.
struct InteractionReply {
  std::string application_id;
  std::string token;  // a secret for 15 minutes: never logged
};

/// "interaction:<application_id>:<interaction_token>" -> its parts; nullopt for anything else.
std::optional<InteractionReply> parse_interaction_context(std::string_view reply_context);

/// The `nonce` for `idempotency_key`: the key itself when it has at most 25 characters, else
/// the first 25 hex digits of its SHA-256 (deterministic, so a retry sends the same nonce).
/// Empty for an empty key.
std::string discord_nonce(std::string_view idempotency_key);

/// The error for a non-2xx Discord answer (Discord notes 6.4): 429 and JSON codes 20016/20028
/// -> rate_limited with retry_after (from the answer, else 5 s for 20016/20028, 1 s for 429);
/// 401 -> token_rejected; 5xx and other non-4xx -> platform_unavailable; any other 4xx ->
/// platform_rejected "discord <code>: <message>" (or "discord HTTP <status>" without a code).
/// `what` names the call ("POST /channels/{channel_id}/messages") and leads the detail.
Error discord_error(const HttpResponse& response, std::string_view what);

/// Thread safety: every call on the bot's strand (PlatformServices::executor), one at a time
/// as the outbox makes them; `gateway_bot` may run beside them (the limiter has its own lock).
class DiscordSender final : public Sender {
 public:
  DiscordSender(DiscordConfig config, platforms::PlatformServices& services,
                DiscordRateLimitOptions limits = {});

  /// GET /users/@me: checks the token and learns the bot's user id. A rejected token is
  /// token_rejected with a detail telling where to copy a valid one from.
  asio::awaitable<Result<void>> prepare() override;
  RateLimitWaits rate_limit_waits() const override { return limits_.waits(); }
  /// Sends one message (see the file comment); answers the created or edited message's id.
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  /// split_discord_message(): 2000 code points and 10 embeds a message.
  std::vector<OutgoingMessage> split(OutgoingMessage message) const override;

  /// GET /gateway/bot, for the gateway: URL, recommended shards, session_start_limit.
  asio::awaitable<Result<GatewayBotInfo>> gateway_bot();

  /// The bot's user id, known after a successful prepare(); empty before.
  const std::string& bot_user_id() const noexcept { return bot_user_id_; }
  /// True once Discord answered 401 to the bot token: no request uses it again.
  bool token_rejected() const noexcept { return token_rejected_; }
  /// The limiter every request passes (tests inspect it).
  DiscordRateLimits& rate_limits() noexcept { return limits_; }

 private:
  struct Call;

  asio::awaitable<Result<HttpResponse>> call(const Call& call);
  asio::awaitable<Result<SentMessage>> send_to_channel(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_to_interaction(const OutgoingMessage& message,
                                                           const InteractionReply& interaction);
  Error rejected_token_error() const;

  DiscordConfig config_;
  net::HttpClient& http_;
  DiscordRateLimits limits_;
  std::string bot_user_id_;
  bool token_rejected_ = false;
};

}  // namespace botgate::discord
