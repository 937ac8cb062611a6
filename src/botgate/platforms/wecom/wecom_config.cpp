#include "botgate/platforms/wecom/wecom_config.hpp"

#include "botgate/platforms/wecom/wecom_crypto.hpp"

#include <stdexcept>

namespace botgate::wecom {
namespace {

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(what); }

void require(const BotSettings& settings, const std::string& key, WecomKind kind) {
  // An unset ${VAR} skips the bot (BotSkipped); an absent or empty value is a config error.
  (void)settings.require_string(key, std::string(" for kind \"") + to_string(kind) + "\"");
}

}  // namespace

const char* to_string(WecomKind kind) noexcept {
  switch (kind) {
    case WecomKind::group: return "group";
    case WecomKind::app: return "app";
    case WecomKind::aibot: return "aibot";
  }
  return "group";
}

std::vector<SettingSpec> wecom_settings() {
  return {
      {"kind", SettingType::string, false},
      {"token", SettingType::string, false},
      {"encoding_aes_key", SettingType::string, false},
      {"corp_id", SettingType::string, false},
      {"webhook_url", SettingType::string, false},
      {"corp_secret", SettingType::string, false},
      {"agent_id", SettingType::integer, false},
      {"mention_name", SettingType::string, false},
      {"mode", SettingType::string, false},
      {"bot_id", SettingType::string, false},
      {"secret", SettingType::string, false},
      {"longconn_url", SettingType::string, false},
      {"ping_interval", SettingType::integer, false},
  };
}

WecomConfig wecom_config_from(const BotSettings& settings, const std::string& default_api_base) {
  WecomConfig config;
  config.bot_name = settings.name;
  config.api_base = settings.api_base.empty() ? default_api_base : settings.api_base;
  while (!config.api_base.empty() && config.api_base.back() == '/') config.api_base.pop_back();

  const std::string kind = settings.get_string("kind", "group");
  if (kind == "group" || kind.empty()) {
    config.kind = WecomKind::group;
  } else if (kind == "app") {
    config.kind = WecomKind::app;
  } else if (kind == "aibot") {
    config.kind = WecomKind::aibot;
  } else {
    invalid("kind must be \"group\", \"app\" or \"aibot\", not \"" + kind + "\"");
  }

  config.token = settings.get_string("token");
  const std::string encoding_aes_key = settings.get_string("encoding_aes_key");
  if (!encoding_aes_key.empty()) {
    auto key = decode_encoding_aes_key(encoding_aes_key);
    if (!key) invalid("encoding_aes_key " + key.error().detail);
    config.aes_key = std::move(*key);
  }
  config.corp_id = settings.get_string("corp_id");
  config.webhook_url = settings.get_string("webhook_url");
  config.corp_secret = settings.get_string("corp_secret");
  config.agent_id = settings.get_int("agent_id");
  config.mention_name = settings.get_string("mention_name");
  if (!config.mention_name.empty() && config.mention_name.front() == '@') {
    config.mention_name.erase(0, 1);
  }

  const std::string mode = settings.get_string("mode", "webhook");
  if (mode != "webhook" && mode != "longconn") {
    invalid("mode must be \"webhook\" or \"longconn\", not \"" + mode + "\"");
  }
  if (mode == "longconn") {
    if (config.kind != WecomKind::aibot) {
      invalid("mode = \"longconn\" is for kind \"aibot\" only (group bots and apps have "
              "callbacks)");
    }
    // The BotID and Secret open the connection; there is no callback to decrypt.
    config.long_connection = true;
    config.bot_id = settings.require_string("bot_id", " for mode \"longconn\"");
    config.secret = settings.require_string("secret", " for mode \"longconn\"");
    config.longconn_url = settings.get_string("longconn_url", kDefaultAibotLongconnUrl);
    if (!config.longconn_url.starts_with("wss://") && !config.longconn_url.starts_with("ws://")) {
      invalid("longconn_url must be a ws(s):// URL (wss://openws.work.weixin.qq.com)");
    }
    const std::int64_t ping = settings.get_int("ping_interval", 30);
    if (ping < 1 || ping > 300) invalid("ping_interval must be 1 to 300 (seconds)");
    config.ping_interval = std::chrono::seconds(ping);
    return config;
  }

  // Callbacks need both halves of the callback settings.
  if (config.token.empty() != config.aes_key.empty()) {
    invalid(config.token.empty() ? "token is required with encoding_aes_key"
                                 : "encoding_aes_key is required with token");
  }
  if (!config.webhook_url.empty() && !config.webhook_url.starts_with("https://") &&
      !config.webhook_url.starts_with("http://")) {
    invalid("webhook_url must be an http(s) URL (https://qyapi.weixin.qq.com/cgi-bin/webhook/"
            "send?key=...)");
  }
  switch (config.kind) {
    case WecomKind::group:
      if (!config.receives_callbacks() && config.webhook_url.empty()) {
        invalid("a group bot needs webhook_url (to send), or token and encoding_aes_key (to "
                "receive callbacks), or both");
      }
      break;
    case WecomKind::app:
      require(settings, "token", config.kind);
      require(settings, "encoding_aes_key", config.kind);
      require(settings, "corp_id", config.kind);
      require(settings, "corp_secret", config.kind);
      if (config.agent_id <= 0) invalid("agent_id is required for kind \"app\" (the AgentId)");
      break;
    case WecomKind::aibot:
      require(settings, "token", config.kind);
      require(settings, "encoding_aes_key", config.kind);
      break;
  }
  return config;
}

}  // namespace botgate::wecom
