#pragma once
/// The Store's leases and presence (core/store.hpp) on Redis, for RedisStore. Keys, under the
/// store's prefix:
///   named-lease:<name>         a hash {holder, epoch} that expires with the lease (PEXPIRE =
///                              its ttl)
///   named-lease-epoch:<name>   the last epoch given for the name (INCR), kept when the lease
///                              expires, so that epochs grow across holders, expiries and
///                              restarts
///   presence:<group>           a sorted set of members scored by the time (Redis's, in ms)
///                              until which each takes part (Store::presence)
/// Each operation is one Lua script: the check and the change are one step for Redis, and the
/// expiry is Redis's clock alone (the instances' clocks never compare).

#include "botgate/core/store.hpp"
#include "botgate/store/redis_client.hpp"
#include "botgate/store/redis_scripts.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace botgate::store {

/// Thread safety: as the RedisClient it uses (the store's thread only).
class RedisLeases {
 public:
  RedisLeases(RedisClient& client, std::string key_prefix);

  asio::awaitable<Result<std::optional<Lease>>> acquire(std::string name, std::string holder,
                                                        std::chrono::milliseconds ttl);
  asio::awaitable<Result<bool>> renew(std::string name, std::string holder, std::int64_t epoch,
                                      std::chrono::milliseconds ttl);
  asio::awaitable<Result<void>> release(std::string name, std::string holder, std::int64_t epoch);
  asio::awaitable<Result<std::size_t>> presence(std::string group, std::string member,
                                                std::chrono::milliseconds ttl);

 private:
  RedisClient& client_;
  std::string prefix_;
  const RedisScript acquire_;
  const RedisScript renew_;
  const RedisScript release_;
  const RedisScript presence_;
};

}  // namespace botgate::store
