#pragma once
/// Discord HTTP interactions at /webhook/<bot> (Discord notes section 4): slash commands become
/// events, everything else is acknowledged.
/// Security posture: the Ed25519 signature (X-Signature-Ed25519 over X-Signature-Timestamp and
/// the raw body) is checked with the configured public key before the body is parsed; a bad or
/// missing signature answers 401, which Discord's periodic invalid-signature probes require.
/// A body for another application_id is refused (401). No replay window: Discord documents none
/// and the handler has no clock; the runtime's dedup on the interaction id drops replays.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/discord/discord_config.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace botgate::discord {

/// The prefix of an interaction's `Event::reply_credential`:
/// "interaction:<application_id>:<interaction token>". The sender answers by editing the
/// deferred original response (PATCH /webhooks/{application_id}/{token}/messages/@original)
/// and with follow-ups; the token is valid for 15 minutes (notes 4.3).
inline constexpr std::string_view kInteractionContextPrefix = "interaction:";

/// How long a command's callback waits for the handlers' reply to answer with it directly:
/// Discord allows 3 s for the first response, and the answer still has to travel back.
inline constexpr std::chrono::milliseconds kInlineReplyWindow{2000};

/// Thread safety: immutable after construction; `handle` may run on any thread at once.
class DiscordInteractions final : public WebhookHandler {
 public:
  /// Keeps the bot name, the application id and the 32-byte public key of `config`. Throws
  /// std::invalid_argument when `config.public_key` is not 32 bytes (a bot without an
  /// interactions endpoint gets no DiscordInteractions).
  explicit DiscordInteractions(const DiscordConfig& config);
  /// A command's first reply goes in the interaction response.
  bool answers_in_callback() const override { return true; }

  /// A POST signed by Discord, answered within the 3 s deadline by the returned ack:
  /// - PING (1): `{"type":1}` (PONG), no event;
  /// - APPLICATION_COMMAND (2): one event whose text is "/name sub value..." and `{"type":5}`
  ///   (DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "thinking..." until the reply edits it);
  /// - MESSAGE_COMPONENT (3), MODAL_SUBMIT (5): `{"type":6}` (DEFERRED_UPDATE_MESSAGE), no event;
  /// - APPLICATION_COMMAND_AUTOCOMPLETE (4): `{"type":8,"data":{"choices":[]}}`, no event.
  /// Errors: bad_signature (401) for a missing, malformed or wrong signature or timestamp;
  /// bad_token (401) for another application_id; malformed_payload (400) for another method
  /// than POST, a body that is not a JSON object, an unknown type or a command without its id,
  /// token or channel.
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  std::string bot_name_;
  std::string application_id_;
  std::string public_key_;
};

}  // namespace botgate::discord
