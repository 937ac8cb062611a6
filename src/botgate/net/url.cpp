#include "botgate/net/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace botgate::net {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Boost.URL's port_number() wraps around above 65535 and accepts "0"; check by hand.
Result<std::string> normalize_port(std::string_view port) {
  if (port.empty() || port.size() > 5) {
    return Error{errc::invalid_argument, "URL port is not a number in 1..65535"};
  }
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') {
      return Error{errc::invalid_argument, "URL port is not a number in 1..65535"};
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) {
    return Error{errc::invalid_argument, "URL port is not a number in 1..65535"};
  }
  return std::to_string(value);
}

}  // namespace

std::string Url::authority() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out = host;
  }
  out.append(":").append(port);
  return out;
}

std::string Url::host_header() const {
  const bool default_port = (scheme == "http" && port == "80") ||
                            (scheme == "https" && port == "443");
  if (!default_port) {
    return authority();
  }
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]";
  }
  return host;
}

Result<Url> parse_url(std::string_view text) {
  namespace urls = boost::urls;
  auto parsed = urls::parse_uri(text);
  if (!parsed) {
    return Error{errc::invalid_argument, "not a valid absolute URL"};
  }
  const urls::url_view& view = *parsed;

  Url url;
  url.scheme = lower(view.scheme());
  if (url.scheme != "http" && url.scheme != "https") {
    return Error{errc::invalid_argument, "URL scheme must be http or https"};
  }
  if (!view.has_authority()) {
    return Error{errc::invalid_argument, "URL has no host"};
  }
  // Credentials in URLs end up in logs; callers must send them as headers instead.
  if (view.has_userinfo()) {
    return Error{errc::invalid_argument, "URL must not carry user info"};
  }

  const std::string_view host = view.encoded_host_address();
  switch (view.host_type()) {
    case urls::host_type::name:
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      break;
    default:
      return Error{errc::invalid_argument, "URL has no usable host"};
  }
  // A percent-encoded host name is legal in a URI but never meant for DNS.
  if (host.empty() || host.find('%') != std::string_view::npos) {
    return Error{errc::invalid_argument, "URL has no usable host"};
  }
  url.host = lower(host);

  if (view.has_port() && !view.port().empty()) {
    auto port = normalize_port(view.port());
    if (!port) {
      return port.error();
    }
    url.port = std::move(*port);
  } else {
    url.port = url.is_tls() ? "443" : "80";
  }

  // Boost.URL 1.81 accepts "http://h:0x1" as port "0" and path "x1"; after an authority the
  // path must be empty or start with '/'.
  const std::string_view path = view.encoded_path();
  if (!path.empty() && path.front() != '/') {
    return Error{errc::invalid_argument, "not a valid absolute URL"};
  }
  url.target = path.empty() ? "/" : std::string(path);
  if (view.has_query()) {
    url.target.append("?").append(view.encoded_query());
  }
  return url;
}

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (listen.starts_with('[')) {
    const auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return std::nullopt;
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
      value > 65535) {
    return std::nullopt;
  }
  return std::pair{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace botgate::net
