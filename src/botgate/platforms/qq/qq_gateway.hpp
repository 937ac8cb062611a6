#pragma once
/// A QQ bot's gateway (mode = "gateway"): GET /gateway/bot with the access token, then one
/// QqGatewayProtocol per shard on the shared ShardedGateway (platforms/common).

#include "botgate/core/event_source.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/qq/qq_config.hpp"

#include <memory>

namespace botgate::qq {

class QqSender;

/// `sender` (the same bot's) owns the access token and answers GET /gateway/bot; it must
/// outlive the result.
std::unique_ptr<EventSource> make_qq_gateway(const QqConfig& config,
                                             platforms::PlatformServices& services,
                                             QqSender& sender);

}  // namespace botgate::qq
