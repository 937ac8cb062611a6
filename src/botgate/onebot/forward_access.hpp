#pragma once
/// Who may open a OneBot v11 forward WebSocket (the framework dials botgate), and to which bot.
/// Pure: the route (forward_routes) asks, then answers. Spec: onebot-11 communication/ws.md,
/// "鉴权": the token comes as `Authorization: Bearer <token>` (Koishi and NoneBot2 send it so)
/// or as the query's `access_token`; none is 401, a wrong one 403.

#include "botgate/core/http.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace botgate::onebot {

enum class TokenCheck {
  ok,
  missing,  ///< neither an Authorization header nor ?access_token: 401
  wrong,    ///< one was sent and none matched: 403
};

/// Checks `request` against `token` (never empty: the config refuses `serve` without one),
/// in constant time.
TokenCheck check_access_token(const HttpRequest& request, std::string_view token);

/// What a route's bot part names: the bot, or why not (the JSON error of a 404).
struct BotRefusal {
  std::string detail;
};

/// The bot a forward connection is for. `named`: the path's bot ("/onebot/v11/ws/{bot}"), empty
/// for "/onebot/v11/ws", which names the one bot bound to OneBot when there is exactly one.
/// `bound`: the bots served by the forward WebSocket.
std::variant<std::string, BotRefusal> resolve_forward_bot(std::string_view named,
                                                          const std::vector<std::string>& bound);

}  // namespace botgate::onebot
