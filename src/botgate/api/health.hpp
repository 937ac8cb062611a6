#pragma once
/// GET /healthz (the process is up) and GET /readyz (every enabled bot is ready: its token is
/// fetched and its webhook route is live). Operators and tests wait on them. Without the API
/// token /readyz answers only the status and {"ready": true|false}; with it, each bot too.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

namespace botgate::api {

void add_health_routes(net::Router& router, const Runtime& runtime, const ApiAccess& access);

}  // namespace botgate::api
