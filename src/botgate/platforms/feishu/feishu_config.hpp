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
  /// When set, callbacks are encrypted and carry X-Lark-Signature.
  std::string encrypt_key;
  /// Checked in every callback (header.token, or token for url_verification).
  /// At least one of encrypt_key and verification_token is set for a webhook bot
  /// (feishu_config_from checks).
  std::string verification_token;
  /// `mode = "longconn"`: events come over a WebSocket the bot opens (no public URL needed),
  /// not to /webhook/<name>.
  bool long_connection = false;
};

/// The platform's keys for the config loader.
std::vector<SettingSpec> feishu_settings();

/// Throws std::invalid_argument naming both keys when a webhook bot has neither encrypt_key nor
/// verification_token (it would accept forged callbacks), or naming `mode` when it is neither
/// "webhook" nor "longconn".
FeishuConfig feishu_config_from(const BotSettings& settings, const std::string& default_api_base);

}  // namespace botgate::feishu
