#pragma once
/// The API token (`[api] token`): every /api route and the console's data need
/// `Authorization: Bearer <token>` when one is configured (config requires one unless the
/// server listens on loopback only).

#include "botgate/net/router.hpp"

#include <string>

namespace botgate::api {
namespace asio = boost::asio;

/// True when `token` is empty or the request carries it (compared in constant time).
bool has_api_token(const HttpRequest& request, const std::string& token);

/// `handler`, answering 401 instead to a request without the token.
net::RouteHandler with_api_token(std::string token, net::RouteHandler handler);

}  // namespace botgate::api
