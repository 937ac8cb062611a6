#pragma once
/// The OneBot v11 forward WebSocket's routes on botgate's API listener ([onebot] serve = true):
///   GET /onebot/v11/ws/{bot}         Universal: events and actions (what Koishi and NoneBot2 use)
///   GET /onebot/v11/ws               the same, when exactly one bot is served; else 404
///   GET /onebot/v11/ws/{bot}/api     actions only
///   GET /onebot/v11/ws/{bot}/event   events only
/// Each upgrade presents `[onebot] access_token` (forward_access: 401 without, 403 wrong); the
/// token is what guards these routes, so they take no [api] token and any Host (a framework in
/// a container dials botgate by a name of its own).

#include "botgate/net/router.hpp"

#include <map>
#include <string>

namespace botgate::onebot {

class ForwardServer;

/// `servers`: each served bot's ForwardServer (they outlive the router's use). `access_token`
/// is never empty.
void add_forward_routes(net::Router& router, std::string access_token,
                        std::map<std::string, ForwardServer*> servers);

}  // namespace botgate::onebot
