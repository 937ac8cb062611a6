#include "botgate/platforms/discord/discord_platform.hpp"

#include "botgate/platforms/discord/discord_api.hpp"
#include "botgate/platforms/discord/discord_gateway.hpp"
#include "botgate/platforms/discord/discord_interactions.hpp"
#include "botgate/platforms/discord/discord_sender.hpp"

namespace botgate::discord {

platforms::PlatformDescriptor discord_descriptor() {
  platforms::PlatformDescriptor d;
  d.name = "discord";
  d.default_api_base = kDefaultApiBase;
  d.settings = discord_settings();
  d.make = [](const BotSettings& settings, platforms::PlatformServices& services) {
    DiscordConfig config = discord_config_from(settings);
    BotParts parts;
    if (config.receives_interactions()) {
      parts.webhook = std::make_unique<DiscordInteractions>(config);
    }
    DiscordRateLimitOptions limits;
    limits.global_per_second = static_cast<std::size_t>(config.requests_per_second);
    auto api = std::make_shared<DiscordApi>(config, services, limits);
    if (config.gateway) parts.sources.push_back(make_discord_gateway(config, services, api));
    parts.sender = std::make_unique<DiscordSender>(std::move(api));
    return parts;
  };
  return d;
}

}  // namespace botgate::discord
