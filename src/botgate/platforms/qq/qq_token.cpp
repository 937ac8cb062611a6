#include "botgate/platforms/qq/qq_token.hpp"

#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace botgate::qq {
namespace json = boost::json;
namespace {

// The platform's message is for the log; enough of it to identify the failure.
constexpr std::size_t kMaxMessage = 200;

/// Notes 2.1: `expires_in` arrives as "7200" although the doc says number; accept either.
std::optional<std::int64_t> expires_in_of(const json::object& answer) {
  const auto* value = answer.if_contains("expires_in");
  if (value == nullptr) return std::nullopt;
  if (const auto number = platforms::int_at(answer, "expires_in")) return number;
  if (!value->is_string()) return std::nullopt;
  const json::string& text = value->get_string();
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return seconds;
}

std::string message_of(const json::object& answer) {
  std::string message = platforms::string_at(answer, "message");
  if (message.size() > kMaxMessage) message.resize(kMaxMessage);
  return message;
}

}  // namespace

HttpRequest qq_token_request(const QqConfig& config) {
  json::object body;
  body["appId"] = config.app_id;
  body["clientSecret"] = config.app_secret;
  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::content_type, "application/json");
  request.body() = json::serialize(body);
  return request;
}

Result<net::FetchedToken> read_qq_token_response(const HttpResponse& response) {
  const std::string status = "HTTP " + std::to_string(response.result_int());
  const auto answer = platforms::parse_object(response.body());
  if (!answer) {
    return Error{errc::token_unavailable, "token endpoint answered " + status};
  }
  // Failure: {"code":100007,"message":"appid invalid"} (botgo checks code != 0).
  if (const auto code = platforms::int_at(*answer, "code"); code && *code != 0) {
    return Error{errc::token_unavailable, "token endpoint refused (" + status + "): code " +
                                              std::to_string(*code) + ": " + message_of(*answer)};
  }
  net::FetchedToken token;
  token.value = platforms::string_at(*answer, "access_token");
  const auto expires_in = expires_in_of(*answer);
  if (token.value.empty() || !expires_in || *expires_in <= 0) {
    return Error{errc::token_unavailable,
                 "token endpoint answered " + status + " without a token and its lifetime"};
  }
  token.expires_in = std::chrono::seconds(*expires_in);
  return token;
}

asio::awaitable<Result<net::FetchedToken>> fetch_qq_token(net::HttpClient& http,
                                                          QqConfig config) {
  HttpRequest request = qq_token_request(config);
  std::string url = config.token_url;
  net::RequestOptions options;
  options.idempotent = true;  // asking twice gives a token twice, nothing more
  auto response = co_await http.send(std::move(url), std::move(request), options);
  if (!response) {
    co_return Error{errc::token_unavailable,
                    "token endpoint for app " + config.app_id + ": " + response.error().message()};
  }
  auto token = read_qq_token_response(*response);
  if (!token) {
    co_return Error{errc::token_unavailable,
                    "app " + config.app_id + ": " + token.error().detail};
  }
  co_return token;
}

net::TokenFetcher qq_token_fetcher(net::HttpClient& http, QqConfig config) {
  // The lambda is not a coroutine: each call copies the config into a new coroutine frame, so
  // nothing refers to the lambda's captures once it has returned.
  return [&http, config = std::move(config)]() { return fetch_qq_token(http, config); };
}

std::string qq_authorization(std::string_view access_token) {
  std::string header = "QQBot ";
  header.append(access_token);
  return header;
}

}  // namespace botgate::qq
