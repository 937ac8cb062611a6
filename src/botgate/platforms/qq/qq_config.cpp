#include "botgate/platforms/qq/qq_config.hpp"

#include "botgate/platforms/common/shard_settings.hpp"
#include "botgate/platforms/qq/qq_intents.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace botgate::qq {
namespace {

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(what); }

bool is_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void strip_trailing_slashes(std::string& url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
}

}  // namespace

const char* to_string(QqMode mode) noexcept {
  switch (mode) {
    case QqMode::gateway:
      return "gateway";
    case QqMode::webhook:
      return "webhook";
  }
  return "gateway";
}

std::optional<QqMode> qq_mode_from_string(std::string_view name) noexcept {
  if (name == "gateway") return QqMode::gateway;
  if (name == "webhook") return QqMode::webhook;
  return std::nullopt;
}

std::vector<SettingSpec> qq_settings() {
  // app_id and app_secret are checked by qq_config_from with require_string, which skips the
  // bot (BotSkipped) when their ${VAR} is unset instead of failing the whole config.
  return {
      {"app_id", SettingType::string, false},
      {"app_secret", SettingType::string, false},
      {"mode", SettingType::string, false},
      {"token_url", SettingType::string, false},
      {"intents", SettingType::string_list, false},
      {"sandbox", SettingType::boolean, false},
      {"shard_count", SettingType::integer, false},
      {"shards", SettingType::integer_list, false},
  };
}

QqConfig qq_config_from(const BotSettings& settings) {
  QqConfig config;
  config.bot_name = settings.name;
  config.sandbox = settings.get_bool("sandbox", false);
  config.api_base = !settings.api_base.empty() ? settings.api_base
                    : config.sandbox           ? kSandboxApiBase
                                               : kDefaultApiBase;
  strip_trailing_slashes(config.api_base);

  config.token_url = settings.get_string("token_url", kDefaultTokenUrl);
  if (config.token_url.empty()) config.token_url = kDefaultTokenUrl;
  if (!config.token_url.starts_with("https://") && !config.token_url.starts_with("http://")) {
    invalid("token_url must be an http:// or https:// URL");
  }

  config.app_id = settings.require_string("app_id", " (the AppID of the bot's development page)");
  if (!is_digits(config.app_id)) {
    invalid("app_id must be the numeric AppID of the bot's development page");
  }
  // Never quoted in an error: it is the token credential and the webhook's signing seed.
  config.app_secret =
      settings.require_string("app_secret", " (the AppSecret of the bot's development page)");

  const std::string mode = settings.get_string("mode", "gateway");
  const auto parsed_mode = qq_mode_from_string(mode.empty() ? "gateway" : mode);
  if (!parsed_mode) invalid("mode must be \"gateway\" or \"webhook\" (got \"" + mode + "\")");
  config.mode = *parsed_mode;

  if (settings.values.contains("intents")) {
    try {
      config.intents = qq_intents_from_names(settings.get_list("intents"));
    } catch (const std::invalid_argument& e) {
      invalid(std::string("intents: ") + e.what());
    }
  } else {
    config.intents = default_qq_intents();
  }
  platforms::ShardSettings shards = platforms::read_shard_settings(settings, "QQ");
  config.shard_count = shards.count;
  config.shards = std::move(shards.ids);
  return config;
}

}  // namespace botgate::qq
