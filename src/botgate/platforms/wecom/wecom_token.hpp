#pragma once
/// A self-built app's access_token: GET {api_base}/cgi-bin/gettoken?corpid=..&corpsecret=..
/// -> {"errcode":0,"access_token":"..","expires_in":7200} (doc 91039).

#include "botgate/core/http.hpp"
#include "botgate/net/token_cache.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <string>

namespace botgate::wecom {

/// The gettoken URL of the app, its values percent-encoded. It carries the secret: never log it.
std::string gettoken_url(const WecomConfig& config);

/// Reads gettoken's answer. errcode 0 with a token and a positive expires_in: the token.
/// Anything else: token_unavailable with the HTTP status or the errcode and errmsg (40001 wrong
/// secret, 40013 wrong corpid, 60020 IP not trusted...).
Result<net::FetchedToken> read_token_response(const HttpResponse& response);

}  // namespace botgate::wecom
