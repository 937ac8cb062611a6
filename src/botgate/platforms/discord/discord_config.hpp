#pragma once
/// The [[bot]] keys of a Discord bot (Discord notes section 1): the bot token for the gateway and
/// REST, and for HTTP interactions the application id and public key.

#include "botgate/core/bot_settings.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace botgate::discord {

/// REST v10; the gateway URL comes from GET {api_base}/gateway/bot.
inline constexpr const char* kDefaultApiBase = "https://discord.com/api/v10";

struct DiscordConfig {
  std::string bot_name;
  std::string api_base;  // without a trailing "/"
  /// The bot token, without the "Bot " prefix. A secret: never logged. Required with the
  /// gateway; may be empty for an interactions-only bot.
  std::string token;
  /// Needed for interaction follow-ups (/webhooks/{application_id}/{token}).
  std::string application_id;
  /// The 32-byte Ed25519 key that signs interaction requests (decoded from the portal's 64 hex
  /// digits). Empty: the bot has no interactions endpoint (/webhook/<name> answers 404).
  std::string public_key;
  /// The identify bitmask (discord_intents.hpp); default_discord_intents() when not configured.
  std::uint64_t intents = 0;
  /// 0: the count Discord recommends in GET /gateway/bot.
  int shard_count = 0;
  /// The shard ids this process runs, in the config's order, each once; empty: all of
  /// 0..shard_count-1. With shard_count 0 they are checked against Discord's count at startup.
  std::vector<int> shards;
  /// false: no gateway connection (interactions only).
  bool gateway = true;

  /// The cap botgate keeps under Discord's global REST limit: 50 per second, unless Discord
  /// raised it for a large bot (interaction routes are exempt).
  std::int64_t requests_per_second = 50;
  bool receives_interactions() const { return !public_key.empty(); }
};

/// The platform's keys for the config loader.
std::vector<SettingSpec> discord_settings();

/// Reads and validates a [[bot]] table. Throws std::invalid_argument naming the key (an unknown
/// intent, a public_key that is not 64 hex digits, a negative, duplicate or too large shard id,
/// public_key without application_id, no token while gateway is true, gateway = false without
/// public_key); BotSkipped for an unset ${VAR} the bot needs (token with the gateway,
/// application_id with public_key). Never repeats a secret.
DiscordConfig discord_config_from(const BotSettings& settings,
                                  const std::string& default_api_base = kDefaultApiBase);

}  // namespace botgate::discord
