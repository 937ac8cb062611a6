#include "botgate/onebot/forward_routes.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/onebot/forward_access.hpp"
#include "botgate/onebot/forward_server.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

namespace botgate::onebot {

namespace {

HttpResponse error_answer(http::status status, std::string_view code, std::string_view detail) {
  boost::json::object body{{"error", code}, {"detail", detail}};
  return make_response(status, boost::json::serialize(body));
}

struct Routes {
  std::string token;
  std::map<std::string, ForwardServer*> servers;
  std::vector<std::string> bots;

  asio::awaitable<HttpAnswer> handle(const HttpRequest& request, std::string named,
                                     net::StreamConnection& connection, ForwardRole role) const {
    const TokenCheck check = check_access_token(request, token);
    if (check != TokenCheck::ok) {
      const bool missing = check == TokenCheck::missing;
      static LogRateLimit log_limit;  // anyone can send these, as fast as they like
      if (auto held = log_limit.admit()) {
        spdlog::warn("onebot: {} {} {}: {}{}", std::string(request.method_string()),
                     std::string(target_for_log(request.target())),
                     missing ? "without the access token" : "with a wrong access token",
                     missing ? 401 : 403, suppressed_note(*held));
      }
      if (!missing) {
        co_return error_answer(http::status::forbidden, "forbidden",
                               "the access token does not match [onebot] access_token");
      }
      HttpResponse response =
          error_answer(http::status::unauthorized, "unauthorized",
                       "send Authorization: Bearer <[onebot] access_token>, or ?access_token=");
      response.set(http::field::www_authenticate, "Bearer");
      co_return response;
    }
    auto bot = resolve_forward_bot(named, bots);
    if (const auto* refused = std::get_if<BotRefusal>(&bot)) {
      co_return error_answer(http::status::not_found, "unknown_bot", refused->detail);
    }
    if (!boost::beast::websocket::is_upgrade(request)) {
      HttpResponse response = error_answer(http::status::upgrade_required, "upgrade_required",
                                           "open a WebSocket on this path (OneBot v11 forward "
                                           "WebSocket)");
      response.set(http::field::upgrade, "websocket");
      co_return response;
    }
    ForwardServer& server = *servers.at(std::get<std::string>(bot));
    co_return co_await server.serve(request, connection, role);
  }
};

}  // namespace

void add_forward_routes(net::Router& router, std::string access_token,
                        std::map<std::string, ForwardServer*> servers) {
  auto routes = std::make_shared<Routes>();
  routes->token = std::move(access_token);
  for (const auto& [bot, server] : servers) routes->bots.push_back(bot);
  routes->servers = std::move(servers);
  auto add = [&](std::string pattern, ForwardRole role, bool named) {
    router.add_streaming(
        std::move(pattern), {http::verb::get},
        [routes, role, named](const HttpRequest& request, std::string bot,
                              net::StreamConnection& connection) -> asio::awaitable<HttpAnswer> {
          std::string which = named ? std::move(bot) : std::string();
          co_return co_await routes->handle(request, std::move(which), connection, role);
        });
  };
  add("/onebot/v11/ws", ForwardRole::universal, false);
  add("/onebot/v11/ws/{bot}", ForwardRole::universal, true);
  add("/onebot/v11/ws/{bot}/api", ForwardRole::api, true);
  add("/onebot/v11/ws/{bot}/event", ForwardRole::event, true);
}

}  // namespace botgate::onebot
