#pragma once
/// The Store's rate limits (Store::rate_take, Store::rate_hold in core/store.hpp) on Redis, for
/// RedisStore: what every instance on the Redis counts together. Keys, under the store's prefix:
///   rate:<key>        a sorted set of the uses in the window, each scored by the time Redis
///                     gave it (microseconds of Redis's TIME), PEXPIRE = the window
///   rate-hold:<key>   present while the key is held, PX = what is left of the hold
/// Each operation is one Lua script, so that counting and taking are one step for Redis, and
/// every time is Redis's clock (the instances' clocks never compare).

#include "botgate/core/error.hpp"
#include "botgate/store/redis_scripts.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace botgate::store {

class RedisClient;

/// Thread safety: as the RedisClient it uses (the store's thread only).
class RedisRates {
 public:
  /// `member_prefix`: unique to the store object ("<instance>/<random>"), so that its uses are
  /// members no other object's can equal.
  RedisRates(RedisClient& client, std::string key_prefix, std::string member_prefix);

  boost::asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> take(
      std::string key, std::size_t limit, std::chrono::milliseconds window);
  boost::asio::awaitable<Result<void>> hold(std::string key, std::chrono::milliseconds duration);

 private:
  RedisClient& client_;
  std::string prefix_;
  std::string member_prefix_;
  std::uint64_t next_member_ = 0;
  const RedisScript take_;
  const RedisScript hold_;
};

}  // namespace botgate::store
