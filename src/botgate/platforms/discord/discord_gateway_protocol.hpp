#pragma once
/// Discord Gateway v10 (JSON encoding) as a sans-I/O `GatewayProtocol` (Discord notes section 3):
/// Hello -> heartbeat (first beat jittered) + Identify or Resume; dispatches tracked by sequence;
/// READY/RESUMED saved as the session; MESSAGE_CREATE turned into an `Event`; op 7, op 9 and close
/// codes mapped to resume, re-identify or stop.

#include "botgate/core/gateway.hpp"
#include "botgate/platforms/discord/discord_intents.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::discord {

struct DiscordGatewayOptions {
  /// The [[bot]] name, copied into every Event.
  std::string bot_name;
  /// The identify bitmask (see discord_intents.hpp).
  std::uint64_t intents = default_discord_intents();
  /// identify's `shard`: [shard_id, shard_count].
  int shard_id = 0;
  int shard_count = 1;
  /// identify's `properties.os`.
  std::string os = "linux";
  /// The bot's user id when known before READY (e.g. from GET /users/@me); READY replaces it.
  std::string bot_user_id;
  /// A random number in [0, 1) for the jitter of the first heartbeat and of the wait after an
  /// invalid session. Null: a std::mt19937 seeded from std::random_device. Tests pass a constant.
  std::function<double()> unit_random;
};

/// Discord's gateway state machine. Not thread-safe: all calls on the bot's gateway strand.
class DiscordGatewayProtocol final : public GatewayProtocol {
 public:
  explicit DiscordGatewayProtocol(DiscordGatewayOptions options);

  void restore(GatewaySession session) override;
  GatewaySession session() const override;

  std::vector<GatewayAction> on_connected(std::string credential) override;
  std::vector<GatewayAction> on_frame(std::string_view frame) override;
  std::vector<GatewayAction> on_heartbeat_due() override;
  std::vector<GatewayAction> on_closed(int close_code) override;

 private:
  struct Payload;

  std::vector<GatewayAction> on_hello(const Payload& payload);
  std::vector<GatewayAction> on_dispatch(const Payload& payload);
  std::vector<GatewayAction> on_invalid_session(bool resumable);
  std::vector<GatewayAction> end_connection(GatewayAction action);
  Reconnect resume_action(std::string reason) const;
  Reconnect identify_action(std::string reason, std::chrono::milliseconds delay);
  std::string heartbeat_frame() const;
  std::string identify_frame() const;
  std::string resume_frame() const;
  std::string fatal_reason(int close_code) const;
  double unit_random();

  DiscordGatewayOptions options_;
  GatewaySession session_;
  std::string credential_;
  bool connection_over_ = false;
  bool awaiting_ack_ = false;
};

}  // namespace botgate::discord
