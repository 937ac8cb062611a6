#include "botgate/platforms/discord/discord_config.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/common/shard_settings.hpp"
#include "botgate/platforms/discord/discord_intents.hpp"

#include <algorithm>
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
      {"requests_per_second", SettingType::integer, false},
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

  config.requests_per_second = settings.get_int("requests_per_second", 50);
  if (config.requests_per_second < 1) {
    invalid("requests_per_second must be at least 1 (Discord's global limit is 50 per second "
            "unless Discord raised it for the bot)");
  }

  platforms::ShardSettings shards = platforms::read_shard_settings(settings, "Discord");
  config.shard_count = shards.count;
  config.shards = std::move(shards.ids);
  return config;
}

}  // namespace botgate::discord
