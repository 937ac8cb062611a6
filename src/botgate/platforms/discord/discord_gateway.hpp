#pragma once
/// A Discord bot's gateway: GET /gateway/bot, then one DiscordGatewayProtocol per shard on the
/// shared ShardedGateway (platforms/common).

#include "botgate/core/event_source.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_config.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace botgate::discord {

class DiscordApi;

/// "<url>/?v=10&encoding=json" for a gateway URL from GET /gateway/bot or READY's
/// resume_gateway_url (which come without the query).
std::string discord_gateway_url(std::string_view base);

/// The bot's gateway connections. `api` (the same bot's, shared with its sender) answers
/// GET /gateway/bot and knows the bot's user id.
std::unique_ptr<EventSource> make_discord_gateway(const DiscordConfig& config,
                                                  platforms::PlatformServices& services,
                                                  std::shared_ptr<DiscordApi> api);

}  // namespace botgate::discord
