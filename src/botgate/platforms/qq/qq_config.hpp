#pragma once
/// The [[bot]] keys of a QQ bot (QQ notes section 1): the AppID and AppSecret, which fetch the
/// access token and, for webhooks, seed the Ed25519 key; how events arrive (gateway or webhook);
/// the gateway's intents and shards.

#include "botgate/core/bot_settings.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::qq {

/// OpenAPI hosts (notes 2.2); the sandbox one serves bots still in their sandbox scenes.
inline constexpr const char* kDefaultApiBase = "https://api.sgroup.qq.com";
inline constexpr const char* kSandboxApiBase = "https://sandbox.api.sgroup.qq.com";
/// The access token endpoint (notes 2.1); the same for sandbox and production.
inline constexpr const char* kDefaultTokenUrl = "https://bots.qq.com/app/getAppAccessToken";

/// How events reach the bot: the WebSocket gateway (notes 4) or HTTP callbacks at
/// /webhook/<bot> (notes 3). The console allows only one of them at a time (notes 3.1).
enum class QqMode { gateway, webhook };

/// "gateway", "webhook" (the config values).
const char* to_string(QqMode mode) noexcept;
std::optional<QqMode> qq_mode_from_string(std::string_view name) noexcept;

struct QqConfig {
  std::string bot_name;
  /// OpenAPI base without a trailing "/": the configured api_base, else kSandboxApiBase with
  /// sandbox = true, else kDefaultApiBase.
  std::string api_base;
  /// POST target of the access token request (notes 2.1).
  std::string token_url;
  /// The AppID (digits).
  std::string app_id;
  /// The AppSecret: token requests and the webhook's Ed25519 seed. A secret: never logged.
  std::string app_secret;
  QqMode mode = QqMode::gateway;
  /// The gateway's identify bitmask (qq_intents.hpp, notes 4.4); default_qq_intents() when not
  /// configured. Webhook bots choose their events in the console instead.
  std::uint64_t intents = 0;
  /// The bot is still in its sandbox (only changes the default api_base).
  bool sandbox = false;
  /// 0: the count QQ recommends in GET /gateway/bot.
  int shard_count = 0;
  /// The shard ids this process runs, in the config's order, each once; empty: all of
  /// 0..shard_count-1.
  std::vector<int> shards;

  bool receives_callbacks() const { return mode == QqMode::webhook; }
};

/// The platform's keys for the config loader.
std::vector<SettingSpec> qq_settings();

/// Reads and validates a [[bot]] table. Throws std::invalid_argument naming the key (app_id not
/// digits, an unknown mode, an unknown intent, a token_url that is not http(s), a negative,
/// duplicate or too large shard id); app_id and app_secret are required (require_string:
/// BotSkipped for an unset ${VAR}). Never repeats the secret.
QqConfig qq_config_from(const BotSettings& settings);

}  // namespace botgate::qq
