#include "botgate/platforms/wecom/wecom_platform.hpp"

#include "botgate/platforms/wecom/aibot_longconn_endpoint.hpp"
#include "botgate/platforms/wecom/wecom_sender.hpp"
#include "botgate/platforms/wecom/wecom_webhook.hpp"

namespace botgate::wecom {

platforms::PlatformDescriptor wecom_descriptor() {
  platforms::PlatformDescriptor d;
  d.name = "wecom";
  d.default_api_base = kDefaultApiBase;
  d.settings = wecom_settings();
  d.make = [](const BotSettings& settings, platforms::PlatformServices& services) {
    WecomConfig config = wecom_config_from(settings, kDefaultApiBase);
    BotParts parts;
    if (config.long_connection) {
      // An AI bot on a long connection: no callback URL; messages in and replies out go over
      // the one connection, which the runner and the sender share through the link.
      auto link = std::make_shared<AibotLink>(services.executor);
      parts.sources.push_back(make_aibot_longconn(config, services, link));
      parts.sender = std::make_unique<WecomSender>(std::move(config), services, std::move(link));
      return parts;
    }
    // A group bot without Token and EncodingAESKey only sends: it has no callback URL.
    if (config.receives_callbacks()) parts.webhook = std::make_unique<WecomWebhook>(config);
    parts.sender = std::make_unique<WecomSender>(std::move(config), services);
    return parts;
  };
  return d;
}

}  // namespace botgate::wecom
