#pragma once
/// GET /healthz (the process is up) and GET /readyz (every enabled bot is ready: its token is
/// fetched and its webhook route is live). Operators and tests wait on them.

#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

namespace botgate::api {

void add_health_routes(net::Router& router, const Runtime& runtime);

}  // namespace botgate::api
