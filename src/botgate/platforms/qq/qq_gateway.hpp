#pragma once
/// A QQ bot's gateway (mode = "gateway"): GET /gateway/bot with the access token, then one
/// QqGatewayProtocol per shard on the shared ShardedGateway (platforms/common).

#include "botgate/core/event_source.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/qq/qq_config.hpp"

#include <memory>

namespace botgate::qq {

class QqApi;

/// `api` (the same bot's, shared with its sender) owns the access token and answers
/// GET /gateway/bot.
std::unique_ptr<EventSource> make_qq_gateway(const QqConfig& config,
                                             platforms::PlatformServices& services,
                                             std::shared_ptr<QqApi> api);

}  // namespace botgate::qq
