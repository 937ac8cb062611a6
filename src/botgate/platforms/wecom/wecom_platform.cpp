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
    // An AI bot answers each message with a passive stream, whose content its sender publishes
    // and its webhook hands to WeCom's refresh callbacks.
    std::shared_ptr<AibotPassiveStreams> passive;
    if (config.kind == WecomKind::aibot && config.receives_callbacks()) {
      passive = std::make_shared<AibotPassiveStreams>();
    }
    if (config.receives_callbacks()) parts.webhook = std::make_unique<WecomWebhook>(config, passive);
    parts.sender =
        std::make_unique<WecomSender>(std::move(config), services, nullptr, std::move(passive));
    return parts;
  };
  return d;
}

}  // namespace botgate::wecom
