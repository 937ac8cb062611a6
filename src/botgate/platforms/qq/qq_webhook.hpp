#pragma once
/// QQ HTTP callbacks at /webhook/<bot> (QQ notes section 3): the callback URL validation (op 13)
/// and event pushes (op 0), whose message dispatches become events through the parser the
/// gateway shares (qq_events.hpp).
/// Security posture: every request, op 13 included, must carry X-Signature-Ed25519 over
/// X-Signature-Timestamp and the raw body, checked with the public key derived from the
/// AppSecret (notes 3.2) before the body is parsed; a missing or bad signature answers 401. A
/// request whose X-Bot-Appid names another bot is refused (401), and so is a push signed more
/// than kQqTimestampWindow from this machine's clock (QQ documents no window: a local policy);
/// the runtime's dedup on the event id drops redeliveries inside it.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/qq/qq_config.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace botgate::qq {

/// The 32-byte Ed25519 seed of a bot (notes 3.2): the AppSecret repeated until it is 32 bytes
/// long, then cut to 32. Throws std::invalid_argument for an empty secret.
std::string qq_signing_seed(std::string_view app_secret);

/// Thread safety: immutable after construction; `handle` may run on any thread at once.
/// How far a push's timestamp may be from this machine's clock. QQ documents no window (notes
/// 3.4); ten minutes leaves room for clock drift and for QQ's redeliveries, while a captured
/// push cannot be replayed later than that (dedup covers replays inside the window).
inline constexpr std::chrono::seconds kQqTimestampWindow{600};

class QqWebhook final : public WebhookHandler {
 public:
  /// Derives the key pair from `config.app_secret` and keeps it with the bot name and AppID.
  /// Throws std::invalid_argument for an empty app_secret.
  ///
  /// `now`: the clock for the replay window: a push whose X-Signature-Timestamp is more than
  /// kQqTimestampWindow away from it is refused (stale_request, 401) after its signature has
  /// been verified. Null: no window (for replaying recorded vectors in tests).
  explicit QqWebhook(const QqConfig& config,
                     std::function<std::chrono::system_clock::time_point()> now = {});

  /// A POST signed by QQ, answered with HTTP 200:
  /// - op 13 (callback validation): {"plain_token":..,"signature":hex(Ed25519 signature of
  ///   event_ts || plain_token)}, no event;
  /// - op 0 (dispatch): {"op":12,"d":0}, with one event for a message dispatch
  ///   (AT_MESSAGE_CREATE, MESSAGE_CREATE, DIRECT_MESSAGE_CREATE, GROUP_AT_MESSAGE_CREATE,
  ///   C2C_MESSAGE_CREATE) and none for the other types;
  /// - op 1 (heartbeat, if QQ ever sends it over HTTP): {"op":11,"d":<d>}, no event;
  /// - any other op: {"op":12,"d":0}, no event.
  /// Errors: bad_signature (401) for a missing, malformed or wrong signature or timestamp;
  /// bad_token (401) for an X-Bot-Appid of another bot; malformed_payload (400) for another
  /// method than POST, a body that is not a JSON object, no op, an op 13 without plain_token or
  /// event_ts, a dispatch without `t`, or a message dispatch the parser cannot read.
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

  /// The 32-byte Ed25519 public key derived from the AppSecret (not secret).
  const std::string& public_key() const noexcept { return public_key_; }

 private:
  std::string bot_name_;
  std::string app_id_;
  std::string seed_;  // secret: never logged
  std::string public_key_;
  std::function<std::chrono::system_clock::time_point()> now_;
};

}  // namespace botgate::qq
