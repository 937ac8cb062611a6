#pragma once
/// GET /api/v1/status: every bot with its platform, readiness, connections, token expiry (never
/// the token), counters and queue depths: what the console's status view shows. GET
/// /api/v1/bots: the same bots alone, `{"bots": [...]}`, for scripts that send through the API.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace botgate::api {

struct StatusApiOptions {
  /// The platform names botgate knows (the sandbox's "looks like" choices).
  std::vector<std::string> platforms = {};
  std::chrono::system_clock::time_point started_at = {};
};

/// Adds both routes.
void add_status_api(net::Router& router, Runtime& runtime, const ApiAccess& access,
                    StatusApiOptions options);

/// One bot's JSON in the status answer.
boost::json::object bot_status_json(const BotStatus& bot, const QueueDepth& depth);

}  // namespace botgate::api
