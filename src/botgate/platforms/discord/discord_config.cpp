#include "botgate/platforms/discord/discord_config.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/discord/discord_intents.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

namespace botgate::discord {
namespace {

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(what); }

bool is_snowflake(const std::string& text) {
  return !text.empty() && text.size() <= 20 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Notes section 1: the portal shows the Ed25519 public key as 64 hex digits.
std::string decode_public_key(const std::string& hex) {
  auto key = hex.size() == 64 ? crypto::from_hex(hex) : std::nullopt;
  if (!key) {
    invalid("public_key must be the 64 hex digits of the Public Key on the application's General "
            "Information page (got " +
            std::to_string(hex.size()) + " characters" +
            (hex.size() == 64 ? ", not all hex digits)" : ")"));
  }
  return std::move(*key);
}

int read_shard_count(const BotSettings& settings) {
  const std::int64_t count = settings.get_int("shard_count", 0);
  if (count < 0) invalid("shard_count must be 0 (Discord's recommended count) or more");
  if (count > std::numeric_limits<int>::max()) invalid("shard_count is too large");
  return static_cast<int>(count);
}

/// Notes 3.6: shard ids run from 0 to shard_count - 1. With shard_count 0 the count is only
/// known from GET /gateway/bot, so the runner checks the ids against it then.
std::vector<int> read_shards(const BotSettings& settings, int shard_count) {
  std::vector<int> shards;
  std::set<std::int64_t> seen;
  for (const std::int64_t id : settings.get_int_list("shards")) {
    if (id < 0) invalid("shards: shard id " + std::to_string(id) + " is negative");
    if (shard_count > 0 && id >= shard_count) {
      invalid("shards: shard id " + std::to_string(id) + " is not below shard_count (" +
              std::to_string(shard_count) + ")");
    }
    if (id > std::numeric_limits<int>::max()) {
      invalid("shards: shard id " + std::to_string(id) + " is too large");
    }
    if (!seen.insert(id).second) {
      invalid("shards: shard id " + std::to_string(id) + " is listed twice");
    }
    shards.push_back(static_cast<int>(id));
  }
  return shards;
}

}  // namespace

std::vector<SettingSpec> discord_settings() {
  // token is not required by itself: an interactions-only bot (gateway = false) has none.
  return {
      {"token", SettingType::string, false},
      {"application_id", SettingType::string, false},
      {"public_key", SettingType::string, false},
      {"intents", SettingType::string_list, false},
      {"shard_count", SettingType::integer, false},
      {"shards", SettingType::integer_list, false},
      {"gateway", SettingType::boolean, false},
  };
}

DiscordConfig discord_config_from(const BotSettings& settings,
                                  const std::string& default_api_base) {
  DiscordConfig config;
  config.bot_name = settings.name;
  config.api_base = settings.api_base.empty() ? default_api_base : settings.api_base;
  while (!config.api_base.empty() && config.api_base.back() == '/') config.api_base.pop_back();

  config.gateway = settings.get_bool("gateway", true);
  // The gateway identifies with the bot token; an unset ${VAR} skips the bot (BotSkipped).
  config.token = config.gateway
                     ? settings.require_string(
                           "token", " (the Bot page's token; gateway = false for a bot that "
                                    "only receives HTTP interactions)")
                     : settings.get_string("token");

  config.application_id = settings.get_string("application_id");
  if (!config.application_id.empty() && !is_snowflake(config.application_id)) {
    invalid("application_id must be the numeric Application ID of the General Information page");
  }

  if (const std::string hex = settings.get_string("public_key"); !hex.empty()) {
    config.public_key = decode_public_key(hex);
    // Interaction replies are follow-ups: /webhooks/{application_id}/{token}.
    if (config.application_id.empty()) {
      (void)settings.require_string("application_id", " with public_key (interaction replies "
                                                      "go to /webhooks/{application_id}/...)");
    }
  }
  if (!config.gateway && !config.receives_interactions()) {
    // public_key = "${VAR}" with VAR unset: skip the bot, as for a missing token.
    if (settings.unset_variables.contains("public_key")) {
      (void)settings.require_string("public_key");
    }
    invalid("the bot neither connects to the gateway nor has a public_key: set one");
  }

  if (settings.values.contains("intents")) {
    try {
      config.intents = discord_intents_from_names(settings.get_list("intents"));
    } catch (const std::invalid_argument& e) {
      invalid(std::string("intents: ") + e.what());
    }
  } else {
    config.intents = default_discord_intents();
  }

  config.shard_count = read_shard_count(settings);
  config.shards = read_shards(settings, config.shard_count);
  return config;
}

}  // namespace botgate::discord
