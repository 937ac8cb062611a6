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
/// - a streamed reply (OutgoingMessage::stream, discord_stream.cpp): sent once it has text, then
///   edited as it grows (PATCH /channels/{chat_id}/messages/{id}), at most once a second; past
///   2,000 characters it goes on in a new message. A streamed reply to an interaction fills
///   the deferred response instead, editing @original as it grows (at most once a second); past
///   2,000 characters the rest follows in follow-up messages, each sent once it is full (or the
///   stream ended), never edited.
/// Every request goes through the bot's DiscordApi (token, rate limits, errors).

#include "botgate/core/platform.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_api.hpp"
#include "botgate/platforms/discord/discord_config.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::discord {

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

/// Thread safety: every call on the bot's strand (PlatformServices::executor), one at a time
/// as the outbox makes them; `gateway_bot` may run beside them (the limiter has its own lock).
class DiscordSender final : public Sender {
 public:
  explicit DiscordSender(std::shared_ptr<DiscordApi> api);
  /// With an API client of its own.
  DiscordSender(DiscordConfig config, platforms::PlatformServices& services,
                DiscordRateLimitOptions limits = {});

  /// DiscordApi::check_token().
  asio::awaitable<Result<void>> prepare() override;
  RateLimitWaits rate_limit_waits() const override { return api_->rate_limits().waits(); }
  /// Sends one message (see the file comment); answers the created or edited message's id.
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  bool can_recall() const override { return true; }
  /// DELETE /channels/{chat_id}/messages/{id} with the bot token, also for a message that
  /// answered an interaction (the bot's own). 404 Unknown Message (10008): gone already, done.
  asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                       const std::string& platform_message_id) override;
  /// See the file comment.
  asio::awaitable<Result<SentMessage>> send_stream(const OutgoingMessage& message,
                                                   StreamFeed& feed) override;
  /// split_discord_message(): 2000 code points and 10 embeds a message.
  std::vector<OutgoingMessage> split(OutgoingMessage message) const override;

  DiscordApi& api() noexcept { return *api_; }

 private:
  asio::awaitable<Result<SentMessage>> send_to_channel(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_to_interaction(const OutgoingMessage& message,
                                                           const InteractionReply& interaction);
  /// Edits the interaction's @original response (`original`) or posts a follow-up, with the
  /// message object `body` (JSON). The interaction token authorises it, not the bot's.
  asio::awaitable<Result<SentMessage>> call_interaction(const InteractionReply& interaction,
                                                        bool original, std::string body);
  /// send_stream for a reply to `interaction` (see the file comment).
  asio::awaitable<Result<SentMessage>> send_interaction_stream(const OutgoingMessage& message,
                                                               const InteractionReply& interaction,
                                                               StreamFeed& feed);

  /// Creates page `index` of a streamed message (its nonce from the message's key and the
  /// index) or edits the message `id` that shows it.
  asio::awaitable<Result<std::string>> create_page(const OutgoingMessage& message,
                                                   std::size_t index, const std::string& page);
  asio::awaitable<Result<void>> edit_page(const OutgoingMessage& message, const std::string& id,
                                          const std::string& page);

  std::shared_ptr<DiscordApi> api_;
};

}  // namespace botgate::discord
