#pragma once
/// GET /: a small HTML page with every bot, its platform, readiness and counters, so that
/// `make run` shows something at http://127.0.0.1:8080/ before the full web console exists.

#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

namespace botgate::api {

void add_status_page(net::Router& router, const Runtime& runtime);

/// The page for `bots` (HTML-escaped; never a token).
std::string render_status_page(const std::vector<BotStatus>& bots);

}  // namespace botgate::api
