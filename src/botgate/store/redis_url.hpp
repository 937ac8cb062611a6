#pragma once
/// Redis store URLs: redis://[[user]:password@]host[:port][/db] and rediss:// (TLS).

#include "botgate/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace botgate::store {

struct RedisUrl {
  bool tls = false;       ///< rediss://
  std::string host;       ///< an IPv6 literal without its brackets
  std::uint16_t port = 6379;
  std::string user;       ///< empty: AUTH with the password alone (the default user)
  std::string password;   ///< empty: no AUTH
  int db = 0;             ///< SELECTed after AUTH

  /// "host:port" for logs and errors: never the user or the password.
  std::string where() const;
};

/// Parses a redis:// or rediss:// URL; user and password may be percent-encoded. Anything else
/// (another scheme, no host, a bad port, a db that is not a number from 0 to 15, a path past
/// the db, a query): errc::invalid_argument, whose detail never repeats the URL (it may hold a
/// password).
Result<RedisUrl> parse_redis_url(std::string_view text);

/// Whether `url` starts with redis:// or rediss:// (then parse_redis_url decides if it is good).
bool is_redis_url(std::string_view url) noexcept;

}  // namespace botgate::store
