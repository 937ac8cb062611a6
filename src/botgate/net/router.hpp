#pragma once
/// Maps request paths to awaitable handlers: exact paths ("/healthz") and one trailing
/// parameter ("/webhook/{name}").

#include "botgate/core/http.hpp"
#include "botgate/net/stream_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace botgate::net {

namespace asio = boost::asio;

/// A route handler gets the request and the value of the route's `{param}` (empty if none).
using RouteHandler =
    std::function<asio::awaitable<HttpResponse>(const HttpRequest&, std::string param)>;
/// A route handler whose answer may want to hear whether it was written (HttpAnswer).
using AnswerHandler =
    std::function<asio::awaitable<HttpAnswer>(const HttpRequest&, std::string param)>;

/// Routes are added before the server starts and never change afterwards, so dispatch needs no
/// lock and may run on any strand.
class Router {
 public:
  /// `pattern` is an exact path, or a prefix, `{name}` that matches one non-empty path segment,
  /// and an optional suffix ("/api/v1/dead-letters/{id}/retry"). `methods` empty means every
  /// method. The first route whose pattern matches the path answers.
  void add(std::string pattern, std::vector<http::verb> methods, RouteHandler handler);
  /// The same, for a handler that answers an HttpAnswer (the webhooks).
  void add_answering(std::string pattern, std::vector<http::verb> methods, AnswerHandler handler);

  /// The same, for a handler that may keep the connection (StreamConnection).
  void add_streaming(std::string pattern, std::vector<http::verb> methods, StreamHandler handler);

  /// 404 when no pattern matches, 405 when the path matches but not the method. `connection`:
  /// the request's connection, for a streaming route (without one, such a route answers 501).
  asio::awaitable<HttpAnswer> dispatch(const HttpRequest& request,
                                       StreamConnection* connection = nullptr) const;

 private:
  struct Route {
    std::string prefix;  // the pattern up to `{`, or the whole exact path
    std::string suffix;  // the pattern after `}`
    bool has_param = false;
    std::vector<http::verb> methods;
    RouteHandler handler;     // one of these three
    AnswerHandler answering;
    StreamHandler streaming;
  };
  Route& add_route(std::string pattern, std::vector<http::verb> methods);
  /// The route for `path` and the parameter value, if any route matches.
  std::optional<std::pair<const Route*, std::string>> match(std::string_view path) const;

  std::vector<Route> routes_;
};

}  // namespace botgate::net
