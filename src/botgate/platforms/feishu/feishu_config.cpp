#include "botgate/platforms/feishu/feishu_config.hpp"

#include <stdexcept>

namespace botgate::feishu {
namespace {

/// " (FEISHU_ENCRYPT_KEY and FEISHU_VERIFICATION_TOKEN are not set)" for the keys whose ${VAR}
/// was unset, so that the operator sees which variable to export; "" when none was.
std::string unset_note(const BotSettings& settings) {
  std::vector<std::string> names;
  for (const char* key : {"encrypt_key", "verification_token"}) {
    if (auto it = settings.unset_variables.find(key); it != settings.unset_variables.end()) {
      names.push_back(it->second);
    }
  }
  if (names.empty()) return {};
  if (names.size() == 1) return " (" + names[0] + " is not set)";
  return " (" + names[0] + " and " + names[1] + " are not set)";
}

}  // namespace

std::vector<SettingSpec> feishu_settings() {
  return {
      {"app_id", SettingType::string, true},
      {"app_secret", SettingType::string, true},
      {"encrypt_key", SettingType::string, false},
      {"verification_token", SettingType::string, false},
      {"mode", SettingType::string, false},
  };
}

FeishuConfig feishu_config_from(const BotSettings& settings, const std::string& default_api_base) {
  FeishuConfig config;
  config.bot_name = settings.name;
  config.platform = settings.platform;
  config.api_base = settings.api_base.empty() ? default_api_base : settings.api_base;
  while (!config.api_base.empty() && config.api_base.back() == '/') config.api_base.pop_back();
  config.app_id = settings.get_string("app_id");
  config.app_secret = settings.get_string("app_secret");
  config.encrypt_key = settings.get_string("encrypt_key");
  config.verification_token = settings.get_string("verification_token");
  const std::string mode = settings.get_string("mode", "webhook");
  if (mode == "longconn") {
    // Events come over the connection the app's credentials opened: nothing to check them with.
    config.long_connection = true;
    return config;
  }
  if (!mode.empty() && mode != "webhook") {
    throw std::invalid_argument("mode must be \"webhook\" or \"longconn\" (got \"" + mode +
                                "\")");
  }
  // Every callback is checked against one of the two: X-Lark-Signature and the ciphertext with
  // the Encrypt Key, the body's token with the Verification Token. Without either, anyone who
  // finds the URL can post a made-up message that the bot answers with its tenant token. Every
  // Feishu app has a Verification Token (Events and Callbacks > Encryption Strategy).
  if (config.encrypt_key.empty() && config.verification_token.empty()) {
    throw std::invalid_argument(
        "encrypt_key or verification_token is required: without either, callbacks cannot be "
        "told from forgeries" +
        unset_note(settings));
  }
  return config;
}

}  // namespace botgate::feishu
