#include "botgate/platforms/qq/qq_gateway.hpp"

#include "botgate/platforms/common/sharded_gateway.hpp"
#include "botgate/platforms/qq/qq_gateway_protocol.hpp"
#include "botgate/platforms/qq/qq_api.hpp"

namespace botgate::qq {
namespace {

/// QQ's gateway has one URL (no resume URL) and a credential that expires every two hours:
/// each connection asks the API client's token cache, which refreshes it ahead of expiry (notes
/// 4.2: "refresh the access token before identify/resume").
class QqEndpoint final : public platforms::GatewayEndpoint {
 public:
  QqEndpoint(std::string url, std::shared_ptr<QqApi> api)
      : url_(std::move(url)), api_(std::move(api)) {}

  asio::awaitable<Result<std::string>> url(std::string) override { co_return url_; }
  asio::awaitable<Result<std::string>> credential() override {
    co_return co_await api_->authorization();
  }
  asio::awaitable<void> credential_rejected(std::string credential) override {
    co_await api_->authorization_rejected(std::move(credential));
  }

 private:
  std::string url_;
  std::shared_ptr<QqApi> api_;
};

}  // namespace

std::unique_ptr<EventSource> make_qq_gateway(const QqConfig& config,
                                             platforms::PlatformServices& services,
                                             std::shared_ptr<QqApi> api) {
  platforms::ShardedGatewayOptions options;
  options.platform = "qq";
  options.bot_name = config.bot_name;
  options.shard_count = config.shard_count;
  options.shards = config.shards;
  options.proxy_url = services.proxy_url;
  options.fetch_info = [api]() { return api->gateway_info(); };
  // A wrong AppSecret is not fatal here: the token cache keeps trying with backoff and the
  // status shows why (the secret may be fixed in the console's IP allow-list, say).
  options.is_fatal = [](const Error&) { return false; };
  options.make_endpoint = [api](const platforms::GatewayInfo& info) {
    return std::make_shared<QqEndpoint>(info.url, api);
  };
  options.make_protocol = [config](int shard_id, int shard_count) {
    QqGatewayOptions protocol;
    protocol.bot_name = config.bot_name;
    protocol.intents = config.intents;
    protocol.shard_id = shard_id;
    protocol.shard_count = shard_count;
    return std::make_unique<QqGatewayProtocol>(std::move(protocol));
  };
  return std::make_unique<platforms::ShardedGateway>(services.executor, services.store,
                                                     std::move(options));
}

}  // namespace botgate::qq
