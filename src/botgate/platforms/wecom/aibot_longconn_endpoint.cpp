#include "botgate/platforms/wecom/aibot_longconn_endpoint.hpp"

#include "botgate/platforms/wecom/aibot_longconn_protocol.hpp"

namespace botgate::wecom {

std::unique_ptr<EventSource> make_aibot_longconn(const WecomConfig& config,
                                                 platforms::PlatformServices& services,
                                                 std::shared_ptr<AibotLink> link) {
  auto protocol = std::make_unique<AibotLongconnProtocol>(config, link);
  auto endpoint = std::make_shared<AibotEndpoint>(config.longconn_url);
  platforms::GatewayRunnerOptions options;
  options.label = "wecom bot '" + config.bot_name + "' long connection";
  options.session_key = "wecom:" + config.bot_name + ":longconn";
  // WeCom keeps one long connection per bot and drops the older one when another opens: of
  // several instances on one store, one at a time holds it.
  options.lease_name = "gateway:" + options.session_key;
  options.ws.proxy_url = services.proxy_url;
  // The official SDK: from 1 s, doubling, to a 30 s cap (notes 2.1).
  options.backoff = BackoffPolicy{std::chrono::seconds(1), std::chrono::seconds(30), 2.0};
  auto runner = std::make_unique<platforms::GatewayRunner>(
      services.executor, services.store, std::move(protocol), std::move(endpoint), nullptr,
      std::move(options));
  // The sender and the runner are parts of one bot, built and torn down together; both run on
  // the bot's strand, where the runner's current connection is read.
  platforms::GatewayRunner* writer = runner.get();
  link->set_writer([writer](std::string text) { return writer->send_text(std::move(text)); });
  return runner;
}

}  // namespace botgate::wecom
