#pragma once
/// GET /metrics: the Prometheus scrape (metrics_text.hpp), behind the API token unless
/// `[metrics] public = true`; the Host check applies either way.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <chrono>

namespace botgate::api {

struct MetricsOptions {
  bool public_access = false;
  std::chrono::system_clock::time_point started_at = {};
};

void add_metrics_api(net::Router& router, Runtime& runtime, const ApiAccess& access,
                     MetricsOptions options);

}  // namespace botgate::api
