#include "botgate/store/redis_url.hpp"

#include "botgate/core/percent_decode.hpp"

#include <charconv>
#include <optional>

namespace botgate::store {

namespace {

constexpr std::string_view kPlain = "redis://";
constexpr std::string_view kTls = "rediss://";

Error bad(std::string why) { return Error{errc::invalid_argument, "redis URL: " + std::move(why)}; }

template <class T>
std::optional<T> whole_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string RedisUrl::where() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool is_redis_url(std::string_view url) noexcept {
  return url.starts_with(kPlain) || url.starts_with(kTls);
}

Result<RedisUrl> parse_redis_url(std::string_view text) {
  RedisUrl url;
  if (text.starts_with(kTls)) {
    url.tls = true;
    text.remove_prefix(kTls.size());
  } else if (text.starts_with(kPlain)) {
    text.remove_prefix(kPlain.size());
  } else {
    return bad("the scheme must be redis:// or rediss://");
  }
  if (text.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment");

  // The user info ends at the last '@' before the path: a password may hold a '@' only
  // percent-encoded, but a '/' in it must not be taken for the path.
  std::string_view authority = text;
  std::string_view path;
  const std::size_t at = text.rfind('@');
  const std::size_t slash = text.find('/', at == std::string_view::npos ? 0 : at);
  if (slash != std::string_view::npos) {
    authority = text.substr(0, slash);
    path = text.substr(slash + 1);
  }
  if (at != std::string_view::npos && at < authority.size()) {
    const std::string_view info = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const std::size_t colon = info.find(':');
    // "redis://secret@host" is a password alone, as redis-cli reads it.
    auto user = percent_decode(colon == std::string_view::npos ? "" : info.substr(0, colon));
    auto password =
        percent_decode(colon == std::string_view::npos ? info : info.substr(colon + 1));
    if (!user || !password) return bad("a broken %-escape in the user or password");
    url.user = std::move(*user);
    url.password = std::move(*password);
  }

  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address without its ']'");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return bad("an empty port");
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("an empty port");
    }
  }
  if (url.host.empty()) return bad("no host");
  if (!port.empty()) {
    auto number = whole_number<unsigned>(port);
    if (!number || *number == 0 || *number > 65535) return bad("the port must be 1 to 65535");
    url.port = static_cast<std::uint16_t>(*number);
  }
  if (!path.empty()) {
    auto db = whole_number<int>(path);
    // Redis has 16 databases unless its configuration says otherwise; more is rare enough that
    // a typo is the likelier cause.
    if (!db || *db < 0 || *db > 15) return bad("the database must be a number from 0 to 15");
    url.db = *db;
  }
  return url;
}

}  // namespace botgate::store
