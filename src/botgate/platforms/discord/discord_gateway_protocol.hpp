#pragma once
/// Discord Gateway v10 (JSON encoding) as a sans-I/O `GatewayProtocol` (Discord notes section 3):
/// the dialect it shares with QQ (platforms/common/gateway_dialect.hpp: Hello, heartbeats,
/// sequence, op 7, op 9, resume) with Discord's own parts: identify with token, intents, shard
/// and properties; READY's resume_gateway_url; the close codes that stop (with what to fix) or
/// identify afresh; MESSAGE_CREATE turned into an `Event`.

#include "botgate/platforms/common/gateway_dialect.hpp"
#include "botgate/platforms/discord/discord_intents.hpp"

#include <cstdint>
#include <functional>
#include <string>

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

/// Discord's gateway: the shared dialect (platforms/common/gateway_dialect.hpp) with Discord's
/// identify, close codes and MESSAGE_CREATE. Not thread-safe: all calls on the bot's gateway
/// strand.
class DiscordGatewayProtocol final : public platforms::GatewayDialect {
 public:
  /// One shard's protocol; `options` as documented on its fields.
  explicit DiscordGatewayProtocol(DiscordGatewayOptions options);
};

}  // namespace botgate::discord
