#include "botgate/platforms/discord/discord_gateway.hpp"

#include "botgate/platforms/common/sharded_gateway.hpp"
#include "botgate/platforms/discord/discord_gateway_protocol.hpp"
#include "botgate/platforms/discord/discord_api.hpp"

namespace botgate::discord {
namespace {

/// Where the gateway is and with which token: the URL learnt from GET /gateway/bot.
class DiscordEndpoint final : public platforms::GatewayEndpoint {
 public:
  DiscordEndpoint(std::string main_url, std::string token)
      : main_url_(std::move(main_url)), token_(std::move(token)) {}

  asio::awaitable<Result<std::string>> url(std::string resume_url) override {
    co_return discord_gateway_url(resume_url.empty() ? main_url_ : resume_url);
  }
  asio::awaitable<Result<std::string>> credential() override { co_return token_; }

 private:
  std::string main_url_;
  std::string token_;
};

}  // namespace

std::string discord_gateway_url(std::string_view base) {
  std::string url(base);
  if (url.find('?') != std::string::npos) {
    return url;
  }
  const auto scheme_end = url.find("://");
  const auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos) {
    url += '/';
  }
  return url + "?v=10&encoding=json";
}

std::unique_ptr<EventSource> make_discord_gateway(const DiscordConfig& config,
                                                  platforms::PlatformServices& services,
                                                  std::shared_ptr<DiscordApi> api) {
  platforms::ShardedGatewayOptions options;
  options.platform = "discord";
  options.bot_name = config.bot_name;
  options.shard_count = config.shard_count;
  options.shards = config.shards;
  options.proxy_url = services.proxy_url;
  options.fetch_info = [api]() -> asio::awaitable<Result<platforms::GatewayInfo>> {
    auto answer = co_await api->gateway_bot();
    if (!answer) co_return answer.error();
    platforms::GatewayInfo info;
    info.url = answer->url;
    info.shards = answer->shards;
    info.max_concurrency = answer->max_concurrency;
    info.identifies_left = answer->remaining;
    co_return info;
  };
  // A rejected bot token stays rejected: reconnecting would only burn the identify budget.
  options.is_fatal = [](const Error& error) { return error.is(errc::token_rejected); };
  options.make_endpoint = [token = config.token](const platforms::GatewayInfo& info) {
    return std::make_shared<DiscordEndpoint>(info.url, token);
  };
  options.make_protocol = [config, api](int shard_id, int shard_count) {
    DiscordGatewayOptions protocol;
    protocol.bot_name = config.bot_name;
    protocol.intents = config.intents;
    protocol.shard_id = shard_id;
    protocol.shard_count = shard_count;
    protocol.bot_user_id = api->bot_user_id();
    return std::make_unique<DiscordGatewayProtocol>(std::move(protocol));
  };
  return std::make_unique<platforms::ShardedGateway>(services.executor, services.store,
                                                     std::move(options));
}

}  // namespace botgate::discord
