#pragma once
/// The API token when `[api] token` is empty: botgate makes one at its first start (32 bytes
/// from OpenSSL's RAND_bytes, in hex), keeps it in the store's token cache and uses it at every
/// later start, so that the console and the API are never open to whoever can reach the port.

#include "botgate/core/store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace botgate::api {

/// The token cache key of the made token (no platform token cache key starts with "botgate:").
inline constexpr std::string_view kApiTokenStoreKey = "botgate:api_token";

struct ApiToken {
  std::string value;
  bool generated = false;  // botgate made it (now or at an earlier start); not in the config
};

/// `configured` when it is not empty; else the token made at an earlier start, else a new one,
/// stored before it is returned (an error when the store cannot keep it: a token that changed at
/// every start would lock the operator's console out without a word).
asio::awaitable<Result<ApiToken>> load_api_token(Store& store, std::string configured);

/// A new token: 32 random bytes as 64 hex digits.
std::string make_api_token();

/// The console's address: "http://host:port/", with "#token=<token>" when `token` is not empty.
/// The token goes in the fragment, which browsers never send to a server (nor put in a Referer),
/// and the page removes it from the address bar once it has read it. A wildcard host (0.0.0.0,
/// ::) is shown as the loopback address of its family.
std::string console_url(std::string_view host, std::uint16_t port, std::string_view token);

}  // namespace botgate::api
