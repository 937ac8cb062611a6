#include "botgate/api/api_auth.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/crypto/encoding.hpp"

#include <spdlog/spdlog.h>

namespace botgate::api {

bool has_api_token(const HttpRequest& request, const std::string& token) {
  if (token.empty()) return true;
  const auto header = request[http::field::authorization];
  constexpr std::string_view scheme = "Bearer ";
  if (!header.starts_with(scheme)) return false;
  return crypto::constant_time_equal(header.substr(scheme.size()), token);
}

net::RouteHandler with_api_token(std::string token, net::RouteHandler handler) {
  return [token = std::move(token), handler = std::move(handler)](
             const HttpRequest& request, std::string param) -> asio::awaitable<HttpResponse> {
    if (!has_api_token(request, token)) {
      static LogRateLimit log_limit;  // anyone can send these, as fast as they like
      if (auto held = log_limit.admit()) {
        spdlog::warn("api: {} {} without the API token: 401{}",
                     std::string(request.method_string()),
                     std::string(target_for_log(request.target())), suppressed_note(*held));
      }
      HttpResponse response =
          make_response(http::status::unauthorized, R"({"error":"unauthorized"})");
      response.set(http::field::www_authenticate, "Bearer");
      co_return response;
    }
    co_return co_await handler(request, std::move(param));
  };
}

}  // namespace botgate::api
