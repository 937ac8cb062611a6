#pragma once
/// The [[bot]] keys of a Feishu or Lark bot.

#include "botgate/core/bot_settings.hpp"

#include <string>
#include <vector>

namespace botgate::feishu {

struct FeishuConfig {
  std::string bot_name;
  std::string platform;  // "feishu" or "lark": the same protocol on another host
  std::string api_base;  // https://open.feishu.cn or https://open.larksuite.com
  std::string app_id;
  std::string app_secret;
  /// Optional. When set, callbacks are encrypted and carry X-Lark-Signature.
  std::string encrypt_key;
  /// Checked in every callback (header.token, or token for url_verification).
  std::string verification_token;
};

/// The platform's keys for the config loader.
std::vector<SettingSpec> feishu_settings();

FeishuConfig feishu_config_from(const BotSettings& settings, const std::string& default_api_base);

}  // namespace botgate::feishu
