#pragma once
/// The list of platforms botgate knows, each with its config keys and its factory.

#include "botgate/core/bot_settings.hpp"
#include "botgate/core/platform.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <map>
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
};

struct PlatformDescriptor {
  std::string name;
  std::string default_api_base;
  std::vector<SettingSpec> settings;
  /// Builds the bot's parts. Throws std::invalid_argument naming the key for a value that is
  /// present but unusable (an encoding_aes_key of the wrong length); the config loader turns
  /// that into exit status 2.
  std::function<BotParts(const BotSettings&, PlatformServices&)> make;
};

class PlatformRegistry {
 public:
  void add(PlatformDescriptor descriptor);
  const PlatformDescriptor* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, PlatformDescriptor> platforms_;
};

/// platforms/all_platforms.cpp: the one list of every platform.
void register_all_platforms(PlatformRegistry& registry);

}  // namespace botgate::platforms
