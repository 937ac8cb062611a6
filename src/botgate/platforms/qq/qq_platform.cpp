#include "botgate/platforms/qq/qq_platform.hpp"

#include "botgate/platforms/qq/qq_api.hpp"
#include "botgate/platforms/qq/qq_gateway.hpp"
#include "botgate/platforms/qq/qq_sender.hpp"
#include "botgate/platforms/qq/qq_webhook.hpp"

namespace botgate::qq {

platforms::PlatformDescriptor qq_descriptor() {
  platforms::PlatformDescriptor d;
  d.name = "qq";
  d.default_api_base = kDefaultApiBase;
  d.settings = qq_settings();
  d.make = [](const BotSettings& settings, platforms::PlatformServices& services) {
    QqConfig config = qq_config_from(settings);
    BotParts parts;
    auto api = std::make_shared<QqApi>(config, services);
    if (config.receives_callbacks()) {
      parts.webhook = std::make_unique<QqWebhook>(
          config, [] { return std::chrono::system_clock::now(); });
    } else {
      parts.sources.push_back(make_qq_gateway(config, services, api));
    }
    parts.sender = std::make_unique<QqSender>(std::move(api));
    return parts;
  };
  return d;
}

}  // namespace botgate::qq
