#include "botgate/platforms/feishu/feishu_platform.hpp"

#include "botgate/platforms/feishu/feishu_sender.hpp"
#include "botgate/platforms/feishu/feishu_webhook.hpp"
#include "botgate/platforms/feishu/longconn_endpoint.hpp"

namespace botgate::feishu {
namespace {

platforms::PlatformDescriptor descriptor(std::string name, std::string api_base) {
  platforms::PlatformDescriptor d;
  d.name = std::move(name);
  d.default_api_base = api_base;
  d.settings = feishu_settings();
  d.make = [api_base](const BotSettings& settings, platforms::PlatformServices& services) {
    FeishuConfig config = feishu_config_from(settings, api_base);
    auto identity = std::make_shared<BotIdentity>();
    BotParts parts;
    if (config.long_connection) {
      parts.sources.push_back(make_longconn(config, services, identity));
    } else {
      parts.webhook = std::make_unique<FeishuWebhook>(config, identity);
    }
    parts.sender = std::make_unique<FeishuSender>(std::move(config), services, identity);
    return parts;
  };
  return d;
}

}  // namespace

platforms::PlatformDescriptor feishu_descriptor() {
  return descriptor("feishu", "https://open.feishu.cn");
}

platforms::PlatformDescriptor lark_descriptor() {
  return descriptor("lark", "https://open.larksuite.com");
}

}  // namespace botgate::feishu
