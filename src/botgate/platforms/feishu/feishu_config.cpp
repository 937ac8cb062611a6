#include "botgate/platforms/feishu/feishu_config.hpp"

namespace botgate::feishu {

std::vector<SettingSpec> feishu_settings() {
  return {
      {"app_id", SettingType::string, true},
      {"app_secret", SettingType::string, true},
      {"encrypt_key", SettingType::string, false},
      {"verification_token", SettingType::string, false},
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
  return config;
}

}  // namespace botgate::feishu
