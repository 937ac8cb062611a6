#pragma once
/// A request to botgate's API as a client sends it: Host 127.0.0.1:8080 (what the tests'
/// ApiAccess allows), the bearer token (none when empty), and a JSON body when there is one.

#include "botgate/core/http.hpp"

#include <string>
#include <string_view>

namespace botgate::test {

inline HttpRequest api_request(http::verb verb, std::string target, std::string body,
                               std::string_view token) {
  HttpRequest request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1:8080");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + std::string(token));
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

}  // namespace botgate::test
