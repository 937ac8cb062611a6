#include "botgate/api/api_auth.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/crypto/encoding.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace botgate::api {
namespace json = boost::json;
namespace {

constexpr std::uint16_t kDefaultHttpPort = 80;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Letters, digits and the punctuation of DNS names and IP addresses; nothing else reaches a
/// comparison (or a log line).
bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == ':';
}

std::optional<boost::asio::ip::address> ip_address(const std::string& name) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(name, ec);
  if (ec) return std::nullopt;
  return address;
}

/// The Host header for a log line: what parse_host accepts, else a fixed word (the header is
/// the client's, and a log line must not carry arbitrary bytes).
std::string host_for_log(const HttpRequest& request) {
  const auto host = request[http::field::host];
  if (host.empty()) return "(none)";
  if (host.size() > 100 || !parse_host(host)) return "(malformed)";
  return std::string(host);
}

bool takes_body(http::verb verb) {
  return verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch;
}

HttpResponse misdirected(const HttpRequest& request) {
  spdlog::warn("api: {} {} with Host {}: not this server's address ([api] allowed_hosts): 421",
               std::string(request.method_string()),
               std::string(target_for_log(request.target())), host_for_log(request));
  return json_error(http::status::misdirected_request, "misdirected_request",
                    "the Host header does not name this server; add the name to [api] "
                    "allowed_hosts");
}

}  // namespace

HttpResponse json_error(http::status status, std::string_view code, std::string_view detail) {
  json::object body{{"error", code}, {"detail", detail}};
  return make_response(status, json::serialize(body));
}

std::optional<HostAndPort> parse_host(std::string_view text) {
  HostAndPort out;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.name = lower(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
    if (!ip_address(out.name) || !ip_address(out.name)->is_v6()) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    out.name = lower(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (out.name.find(':') != std::string::npos) return std::nullopt;  // an unbracketed IPv6
  }
  if (out.name.empty() || !std::all_of(out.name.begin(), out.name.end(), is_host_char)) {
    return std::nullopt;
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

void ApiAccess::add_listen(std::string_view host, std::uint16_t port) {
  auto parsed = parse_host(host.find(':') != std::string_view::npos && !host.starts_with('[')
                               ? "[" + std::string(host) + "]"
                               : std::string(host));
  if (!parsed) return;
  hosts_.push_back({parsed->name, port});
  const auto address = ip_address(parsed->name);
  const bool wildcard = address && address->is_unspecified();
  if (wildcard) any_address_port_ = port;
  if (wildcard || parsed->name == "localhost" || (address && address->is_loopback())) {
    for (const char* name : {"localhost", "127.0.0.1", "::1"}) hosts_.push_back({name, port});
  }
}

void ApiAccess::add_allowed_hosts(const std::vector<std::string>& hosts) {
  for (const std::string& host : hosts) {
    if (auto parsed = parse_host(host)) hosts_.push_back(std::move(*parsed));
  }
}

bool ApiAccess::has_token(const HttpRequest& request) const {
  if (token_.empty()) return false;
  const auto header = request[http::field::authorization];
  constexpr std::string_view scheme = "Bearer ";
  if (!header.starts_with(scheme)) return false;
  return crypto::constant_time_equal(header.substr(scheme.size()), token_);
}

bool ApiAccess::host_allowed(const HttpRequest& request) const {
  const auto host = parse_host(request[http::field::host]);
  if (!host) return false;
  const std::uint16_t port = host->port.value_or(kDefaultHttpPort);
  for (const HostAndPort& allowed : hosts_) {
    if (allowed.name == host->name && (!allowed.port || *allowed.port == port)) return true;
  }
  return any_address_port_ && *any_address_port_ == port && ip_address(host->name).has_value();
}

bool is_json_content_type(std::string_view content_type) {
  const auto media = content_type.substr(0, content_type.find(';'));
  const auto first = media.find_first_not_of(" \t");
  if (first == std::string_view::npos) return false;
  const auto last = media.find_last_not_of(" \t");
  return lower(media.substr(first, last - first + 1)) == "application/json";
}

net::RouteHandler with_api_token(const ApiAccess& access, net::RouteHandler handler) {
  return [&access, handler = std::move(handler)](
             const HttpRequest& request, std::string param) -> asio::awaitable<HttpResponse> {
    if (!access.host_allowed(request)) co_return misdirected(request);
    if (!access.has_token(request)) {
      static LogRateLimit log_limit;  // anyone can send these, as fast as they like
      if (auto held = log_limit.admit()) {
        spdlog::warn("api: {} {} without the API token: 401{}",
                     std::string(request.method_string()),
                     std::string(target_for_log(request.target())), suppressed_note(*held));
      }
      HttpResponse response = json_error(http::status::unauthorized, "unauthorized",
                                         "send Authorization: Bearer <the API token>");
      response.set(http::field::www_authenticate, "Bearer");
      co_return response;
    }
    if (takes_body(request.method()) &&
        !is_json_content_type(request[http::field::content_type])) {
      spdlog::warn("api: {} {} with a body that is not application/json: 415",
                   std::string(request.method_string()),
                   std::string(target_for_log(request.target())));
      co_return json_error(http::status::unsupported_media_type, "unsupported_media_type",
                           "Content-Type must be application/json");
    }
    co_return co_await handler(request, std::move(param));
  };
}

net::RouteHandler with_allowed_host(const ApiAccess& access, net::RouteHandler handler) {
  return [&access, handler = std::move(handler)](
             const HttpRequest& request, std::string param) -> asio::awaitable<HttpResponse> {
    if (!access.host_allowed(request)) co_return misdirected(request);
    co_return co_await handler(request, std::move(param));
  };
}

}  // namespace botgate::api
