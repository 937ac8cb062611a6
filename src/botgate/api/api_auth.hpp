#pragma once
/// Who may use the console and the JSON API. Every /api route checks, in this order:
///  1. `Host` names this server (its listen address, loopback names on a loopback or wildcard
///     listen, or `[api] allowed_hosts`): otherwise 421. A page on another site whose DNS name
///     was rebound to 127.0.0.1 sends its own name, so it cannot read the API through the
///     browser (the DNS-rebinding guard of Jupyter, Vite and webpack-dev-server).
///  2. `Authorization: Bearer <token>`: otherwise 401. There is always a token: the configured
///     `[api] token`, or one botgate made at its first start (api_token.hpp).
///  3. A request with a body declares `Content-Type: application/json`: otherwise 415. A
///     cross-site form or `fetch(..., {mode: "no-cors"})` can only send text/plain,
///     urlencoded or multipart bodies without a CORS preflight, and botgate answers no
///     preflight (it sends no Access-Control-* header anywhere).
/// The console's page and assets are public (they hold no data) but pass the Host check too.

#include "botgate/net/router.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace botgate::api {
namespace asio = boost::asio;

/// A host name or address and an optional port, as a Host header or an allowed_hosts entry
/// carries them. `name` is lower case, an IPv6 address without its brackets.
struct HostAndPort {
  std::string name;
  std::optional<std::uint16_t> port;  // none: any port (allowed_hosts), or 80 (a Host header)
};

/// Parses "name", "name:port", "[v6]", "[v6]:port". nullopt when malformed (empty, a bad port,
/// spaces or characters no host name has).
std::optional<HostAndPort> parse_host(std::string_view text);

/// The token and the Host values the API accepts. Filled in once before the servers start (the
/// token may come from the store, the port from the bind); read-only afterwards, so the routes
/// read it from any thread without a lock.
class ApiAccess {
 public:
  void set_token(std::string token) { token_ = std::move(token); }
  const std::string& token() const noexcept { return token_; }

  /// The address the API is served on, as bound. A loopback listen also accepts `localhost`,
  /// `127.0.0.1` and `[::1]` with its port; a wildcard one (0.0.0.0, ::) those and any IP
  /// address with its port (a DNS rebinding always sends a name, never an address).
  void add_listen(std::string_view host, std::uint16_t port);
  /// `[api] allowed_hosts`: entries "name" (any port) or "name:port". Malformed entries are
  /// ignored (the config loader refuses them).
  void add_allowed_hosts(const std::vector<std::string>& hosts);

  /// True when the request carries `Authorization: Bearer <token>` (compared in constant time).
  /// Never true while no token is set.
  bool has_token(const HttpRequest& request) const;
  /// True when the request's query carries `access_token=<token>` (compared in constant time):
  /// accepted on WebSocket requests only (TokenIn), where a browser cannot set a header.
  bool has_query_token(const HttpRequest& request) const;
  /// True when the request's Host header is one of the accepted values.
  bool host_allowed(const HttpRequest& request) const;

 private:
  std::string token_;
  std::vector<HostAndPort> hosts_;
  std::optional<std::uint16_t> any_address_port_;  // set by a wildcard listen
};

/// Where a route takes the token from.
enum class TokenIn {
  header,
  /// The header, or `?access_token=` (a browser's WebSocket cannot send a header; see
  /// docs/api.md for why the query is safe there).
  header_or_query,
};

/// The answer that refuses `request` by the three checks above, or nullopt when it passes.
std::optional<HttpResponse> api_refusal(const ApiAccess& access, const HttpRequest& request,
                                        TokenIn token_in);

/// `handler` behind the three checks above (the content type only for POST, PUT and PATCH).
net::RouteHandler with_api_token(const ApiAccess& access, net::RouteHandler handler);

/// `handler` behind the Host check alone: the console's page and assets.
net::RouteHandler with_allowed_host(const ApiAccess& access, net::RouteHandler handler);

/// An API error answer: `{"error": code, "detail": detail}` with `status`. `detail` names the
/// field a client got wrong; it never carries a secret.
HttpResponse json_error(http::status status, std::string_view code, std::string_view detail);

/// True for "application/json", with parameters ("; charset=utf-8") and in any case.
bool is_json_content_type(std::string_view content_type);

}  // namespace botgate::api
