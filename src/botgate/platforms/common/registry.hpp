#pragma once
/// The list of platforms botgate knows, each with its config keys and its factory.

#include "botgate/core/bot_settings.hpp"
#include "botgate/core/platform.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace botgate::net {
class HttpClient;
}

namespace botgate::platforms {

/// What a platform may use. Platforms never open servers or sockets themselves.
struct PlatformServices {
  boost::asio::any_io_executor executor;  // the bot's strand
  net::HttpClient& http;                  // for the platform's API, with the bot's proxy
  Store& store;                           // token cache, gateway sessions
  /// The bot's HTTP CONNECT proxy ("http://host:port"), empty for none: gateways open their
  /// WebSocket through it, as `http` sends through it.
  std::string proxy_url = {};
  /// The platforms a [[bot]] may name (PlatformRegistry::configurable_names()): the sandbox
  /// offers them as what a typed message may look like.
  std::vector<std::string> platform_names = {};
};

/// A bot that botgate creates itself, one per platform that declares it (the console's
/// sandbox). Its name is taken: no [[bot]] may use it, nor name its platform. Its callback is
/// reachable only through the API, behind the API token, never at /webhook/<name>. Its
/// factory gets BotSettings with only `name` and `platform` set.
struct BuiltinBot {
  std::string name;
  /// What the bot is, for the error that refuses its name to a [[bot]]:
  /// "'<name>' is <description>; choose another name".
  std::string description;
};

/// One platform: its name (what `platform = "..."` says), its [[bot]] keys and its factory.
struct PlatformDescriptor {
  std::string name;
  std::string default_api_base;
  std::vector<SettingSpec> settings;
  /// Set for a platform that has only a built-in bot (see BuiltinBot); such a platform is not
  /// configured in [[bot]] tables.
  std::optional<BuiltinBot> builtin_bot = {};
  /// Builds the bot's parts. Throws std::invalid_argument naming the key for a value that is
  /// present but unusable (an encoding_aes_key of the wrong length); the config loader turns
  /// that into exit status 2.
  std::function<BotParts(const BotSettings&, PlatformServices&)> make;
};

/// Platforms by name. Filled before the config is read (all_platforms.cpp, then what a
/// program built on the library adds: app::run_cli's PlatformSetup); read-only afterwards.
class PlatformRegistry {
 public:
  /// Throws std::invalid_argument for an empty or taken platform name, or a built-in bot name
  /// that another platform's built-in bot has.
  void add(PlatformDescriptor descriptor);
  const PlatformDescriptor* find(const std::string& name) const;
  /// Every platform, sorted: what a rule's `platforms` may name.
  std::vector<std::string> names() const;
  /// The platforms without a built-in bot, sorted: what a [[bot]]'s `platform` may name.
  std::vector<std::string> configurable_names() const;
  /// The platforms with a built-in bot, sorted by platform name.
  std::vector<const PlatformDescriptor*> with_builtin_bot() const;
  /// The platform whose built-in bot is named `bot`, or null.
  const PlatformDescriptor* builtin_bot_owner(const std::string& bot) const;

 private:
  std::map<std::string, PlatformDescriptor> platforms_;
};

/// platforms/all_platforms.cpp: the one list of every platform.
void register_all_platforms(PlatformRegistry& registry);

}  // namespace botgate::platforms
