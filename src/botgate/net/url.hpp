#pragma once
/// Parsed absolute http/https URLs.

#include "botgate/core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace botgate::net {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; an IPv6 literal without its brackets ("::1")
  std::string port;    // always set: "80"/"443" when the URL has none
  std::string target;  // path and query, "/" at least; never the fragment

  bool is_tls() const noexcept { return scheme == "https"; }
  /// "host:port" (IPv6 in brackets), as used in CONNECT requests and pool keys.
  std::string authority() const;
  /// The Host header value: like `authority()`, but without the scheme's default port.
  std::string host_header() const;
};

/// Parses "http://host[:port][/path][?query][#fragment]" (and https); the fragment is dropped.
/// Anything else (other schemes, user info, relative URLs, bad ports): invalid_argument. The
/// error detail never repeats the URL, whose query may carry a key.
Result<Url> parse_url(std::string_view text);

/// Splits a listen address "host:port" ("[::1]:8080" for IPv6; port 0..65535). nullopt when
/// malformed: no port, an empty host, an IPv6 address without brackets, a port out of range.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view listen);

}  // namespace botgate::net
