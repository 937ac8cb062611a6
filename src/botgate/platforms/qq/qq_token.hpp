#pragma once
/// The bot's access token (QQ notes 2.1): POST {token_url} {"appId","clientSecret"} ->
/// {"access_token":"..","expires_in":"7200"}, and the Authorization header that carries it
/// (notes 2.2). The fetch is a net::TokenFetcher for net::TokenCache.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/net/token_cache.hpp"
#include "botgate/platforms/qq/qq_config.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace botgate::qq {

/// The token request: POST with Content-Type application/json (without it QQ answers
/// `100007 appid invalid`, notes pitfall 6) and body {"appId":..,"clientSecret":..}. It carries
/// the secret: never log it.
HttpRequest qq_token_request(const QqConfig& config);

/// Reads the token endpoint's answer. `expires_in` is a JSON string of seconds in practice and a
/// number in the docs: both are accepted. A non-zero `code`, a missing `access_token` or a
/// missing or non-positive `expires_in`: token_unavailable with the HTTP status and the
/// platform's code and message.
Result<net::FetchedToken> read_qq_token_response(const HttpResponse& response);

/// Sends qq_token_request(config) to config.token_url and reads the answer. Transport failures
/// are token_unavailable too. Error details name the AppID, never the secret. `config` is taken
/// by value: the coroutine keeps its own copy.
asio::awaitable<Result<net::FetchedToken>> fetch_qq_token(net::HttpClient& http, QqConfig config);

/// fetch_qq_token bound to `http` and `config`, for net::TokenCache. `http` must outlive the
/// fetcher.
net::TokenFetcher qq_token_fetcher(net::HttpClient& http, QqConfig config);

/// "QQBot <access_token>", the Authorization header of every OpenAPI call (notes 2.2).
std::string qq_authorization(std::string_view access_token);

}  // namespace botgate::qq
