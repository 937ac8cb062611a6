#include "botgate/net/router.hpp"

#include <algorithm>

namespace botgate::net {

void Router::add(std::string pattern, std::vector<http::verb> methods, RouteHandler handler) {
  add_route(std::move(pattern), std::move(methods)).handler = std::move(handler);
}

void Router::add_answering(std::string pattern, std::vector<http::verb> methods,
                           AnswerHandler handler) {
  add_route(std::move(pattern), std::move(methods)).answering = std::move(handler);
}

void Router::add_streaming(std::string pattern, std::vector<http::verb> methods,
                           StreamHandler handler) {
  add_route(std::move(pattern), std::move(methods)).streaming = std::move(handler);
}

Router::Route& Router::add_route(std::string pattern, std::vector<http::verb> methods) {
  Route route;
  if (const auto brace = pattern.find('{'); brace != std::string::npos) {
    route.prefix = pattern.substr(0, brace);
    if (const auto close = pattern.find('}', brace); close != std::string::npos) {
      route.suffix = pattern.substr(close + 1);
    }
    route.has_param = true;
  } else {
    route.prefix = std::move(pattern);
  }
  route.methods = std::move(methods);
  routes_.push_back(std::move(route));
  return routes_.back();
}

std::optional<std::pair<const Router::Route*, std::string>> Router::match(
    std::string_view path) const {
  for (const Route& route : routes_) {
    if (!route.has_param) {
      if (path == route.prefix) return std::pair{&route, std::string{}};
      continue;
    }
    if (path.size() < route.prefix.size() + route.suffix.size()) continue;
    if (!path.starts_with(route.prefix) || !path.ends_with(route.suffix)) continue;
    std::string_view param = path.substr(
        route.prefix.size(), path.size() - route.prefix.size() - route.suffix.size());
    if (param.empty() || param.find('/') != std::string_view::npos) continue;
    return std::pair{&route, std::string(param)};
  }
  return std::nullopt;
}

asio::awaitable<HttpAnswer> Router::dispatch(const HttpRequest& request,
                                             StreamConnection* connection) const {
  auto found = match(target_path(request.target()));
  if (!found) {
    co_return make_response(http::status::not_found, R"({"error":"not found"})");
  }
  const auto& [route, param] = *found;
  if (!route->methods.empty() &&
      std::find(route->methods.begin(), route->methods.end(), request.method()) ==
          route->methods.end()) {
    co_return make_response(http::status::method_not_allowed, R"({"error":"method not allowed"})");
  }
  if (route->answering) co_return co_await route->answering(request, param);
  if (route->streaming) {
    if (!connection) {
      co_return make_response(http::status::not_implemented, R"({"error":"not streamed here"})");
    }
    co_return co_await route->streaming(request, param, *connection);
  }
  co_return co_await route->handler(request, param);
}

}  // namespace botgate::net
