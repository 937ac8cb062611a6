#pragma once
/// The [[bot]] keys of a WeCom bot: a group bot (群机器人), a self-built app (自建应用) or an AI
/// bot (智能机器人).

#include "botgate/core/bot_settings.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace botgate::wecom {

/// https://qyapi.weixin.qq.com: every WeCom API and the webhooks WeCom hands out live there.
inline constexpr const char* kDefaultApiBase = "https://qyapi.weixin.qq.com";

/// Where an AI bot's long connection goes (longconn-and-streaming notes 2.1).
inline constexpr const char* kDefaultAibotLongconnUrl = "wss://openws.work.weixin.qq.com";

enum class WecomKind { group, app, aibot };

/// "group", "app", "aibot".
const char* to_string(WecomKind kind) noexcept;

struct WecomConfig {
  std::string bot_name;
  WecomKind kind = WecomKind::group;
  std::string api_base;  // without a trailing "/"
  /// The callback Token and the 32-byte AES key decoded from the EncodingAESKey. Both empty
  /// when the bot receives no callbacks (a group bot that only sends).
  std::string token;
  std::string aes_key;
  /// The receive id checked after decryption: the CorpID for apps, empty for group and AI bots.
  std::string corp_id;
  /// The group bot's own webhook, for messages that answer no callback.
  std::string webhook_url;
  std::string corp_secret;  // apps: for gettoken
  std::int64_t agent_id = 0;
  /// The bot's display name in groups ("RobotA"), to strip exactly "@RobotA" from a message.
  /// Empty: whatever "@name" leads a group message is taken for the bot's mention, since WeCom
  /// pushes group messages only when they @ the bot.
  std::string mention_name;
  /// AI bots with mode = "longconn": messages come over a WebSocket the bot opens with its
  /// BotID and Secret, and replies go back over it; no callback URL.
  bool long_connection = false;
  std::string bot_id;
  std::string secret;
  std::string longconn_url;  // kDefaultAibotLongconnUrl unless set
  /// How often the connection is pinged (the official SDK: 30 s); two pings unanswered when
  /// the next is due replace it. Key `ping_interval`, in seconds.
  std::chrono::milliseconds ping_interval{30'000};

  bool receives_callbacks() const { return !long_connection && !token.empty(); }
};

/// The platform's keys for the config loader. None is required by itself: which are depends
/// on `kind`, and `wecom_config_from` checks that.
std::vector<SettingSpec> wecom_settings();

/// Reads and validates a [[bot]] table. Throws std::invalid_argument naming the key for an
/// unknown kind, an encoding_aes_key that is not 43 characters decoding to 32 bytes, or a key
/// the kind needs that is missing (PlatformDescriptor::make turns that into exit status 2).
/// The message never repeats a secret.
WecomConfig wecom_config_from(const BotSettings& settings,
                              const std::string& default_api_base = kDefaultApiBase);

}  // namespace botgate::wecom
