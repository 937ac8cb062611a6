#pragma once
/// Where an AI bot's long connection connects (a fixed URL: the subscribe frame carries the
/// credentials), and the bot's runner with its AibotLink wired to it.

#include "botgate/core/event_source.hpp"
#include "botgate/platforms/common/gateway_runner.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/wecom/aibot_link.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <memory>
#include <string>

namespace botgate::wecom {

class AibotEndpoint final : public platforms::GatewayEndpoint {
 public:
  explicit AibotEndpoint(std::string url) : url_(std::move(url)) {}
  asio::awaitable<Result<std::string>> url(std::string) override { co_return url_; }
  /// aibot_subscribe carries the BotID and Secret (from the config): nothing else to present.
  asio::awaitable<Result<std::string>> credential() override { co_return std::string(); }

 private:
  std::string url_;
};

/// The bot's long connection on the gateway runner; `link` is set to write on it.
std::unique_ptr<EventSource> make_aibot_longconn(const WecomConfig& config,
                                                 platforms::PlatformServices& services,
                                                 std::shared_ptr<AibotLink> link);

}  // namespace botgate::wecom
