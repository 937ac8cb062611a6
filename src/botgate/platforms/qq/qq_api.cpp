#include "botgate/platforms/qq/qq_api.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/qq/qq_token.hpp"

namespace botgate::qq {
namespace {

// Fetched again 60 s before expiry: QQ hands out a new token during the last 60 s while the old one
// stays valid (notes 2.1).
constexpr std::chrono::seconds kRefreshMargin{60};

}  // namespace

QqApi::QqApi(QqConfig config, platforms::PlatformServices& services)
    : config_(std::move(config)),
      http_(services.http),
      tokens_(services.executor, services.store, "qq:" + config_.app_id, config_.app_secret,
              qq_token_fetcher(services.http, config_), kRefreshMargin) {}

asio::awaitable<Result<void>> QqApi::check_token() {
  auto token = co_await tokens_.get();
  if (!token) co_return token.error();
  co_return Result<void>{};
}

asio::awaitable<Result<HttpResponse>> QqApi::post(const std::string& path, std::string body,
                                                  const std::string& token, bool idempotent) {
  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::authorization, qq_authorization(token));
  request.set("X-Union-Appid", config_.app_id);
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  net::RequestOptions options;
  options.idempotent = idempotent;
  co_return co_await http_.send(config_.api_base + path, std::move(request), options);
}

asio::awaitable<Result<HttpResponse>> QqApi::remove(const std::string& path,
                                                    const std::string& token) {
  HttpRequest request{http::verb::delete_, "/", 11};
  request.set(http::field::authorization, qq_authorization(token));
  request.set("X-Union-Appid", config_.app_id);
  net::RequestOptions options;
  options.idempotent = true;
  co_return co_await http_.send(config_.api_base + path, std::move(request), options);
}

asio::awaitable<Result<std::string>> QqApi::authorization() {
  auto token = co_await tokens_.get();
  if (!token) co_return token.error();
  co_return qq_authorization(*token);
}

asio::awaitable<void> QqApi::authorization_rejected(std::string authorization) {
  const std::string prefix = qq_authorization("");
  if (authorization.starts_with(prefix)) authorization.erase(0, prefix.size());
  co_await tokens_.invalidate(std::move(authorization));
}

asio::awaitable<Result<platforms::GatewayInfo>> QqApi::gateway_info() {
  auto ask_with = [this](const std::string& token)
      -> asio::awaitable<Result<platforms::GatewayInfo>> {
    HttpRequest request{http::verb::get, "/", 11};
    request.set(http::field::authorization, qq_authorization(token));
    request.set("X-Union-Appid", config_.app_id);
    auto response = co_await http_.send(config_.api_base + "/gateway/bot", std::move(request));
    if (!response) co_return response.error();
    if (response->result() == http::status::unauthorized) {
      co_return Error{errc::token_rejected,
                      "GET /gateway/bot: HTTP 401: " + response->body().substr(0, 200)};
    }
    if (response->result_int() >= 500) {
      co_return Error{errc::platform_unavailable,
                      "GET /gateway/bot: HTTP " + std::to_string(response->result_int())};
    }
    auto body = platforms::parse_object(response->body());
    const std::string url = body ? platforms::string_at(*body, "url") : std::string();
    if (url.empty()) {
      co_return Error{errc::platform_rejected,
                      "GET /gateway/bot: HTTP " + std::to_string(response->result_int()) +
                          " without a gateway url: " + response->body().substr(0, 200)};
    }
    platforms::GatewayInfo info;
    info.url = url;
    info.shards = static_cast<int>(platforms::int_at(*body, "shards").value_or(1));
    if (const auto* limit = platforms::object_at(*body, "session_start_limit")) {
      info.max_concurrency =
          static_cast<int>(platforms::int_at(*limit, "max_concurrency").value_or(1));
      info.identifies_left = static_cast<int>(platforms::int_at(*limit, "remaining").value_or(-1));
    }
    co_return info;
  };
  co_return co_await net::call_with_token(tokens_, config_.bot_name, ask_with);
}

}  // namespace botgate::qq
