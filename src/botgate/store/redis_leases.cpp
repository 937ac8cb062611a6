#include "botgate/store/redis_leases.hpp"

#include <algorithm>

namespace botgate::store {
namespace {

// ARGV: prefix, name, holder, ttl_ms. Returns the epoch, or 0 when another holder has it.
// A key that expired is gone for Redis (also inside a script): the lease is free.
constexpr std::string_view kAcquire = R"lua(
local key = ARGV[1] .. 'named-lease:' .. ARGV[2]
local holder = redis.call('HGET', key, 'holder')
if holder == ARGV[3] then
  redis.call('PEXPIRE', key, ARGV[4])
  return tonumber(redis.call('HGET', key, 'epoch'))
end
if holder then return 0 end
local epoch = redis.call('INCR', ARGV[1] .. 'named-lease-epoch:' .. ARGV[2])
redis.call('HSET', key, 'holder', ARGV[3], 'epoch', epoch)
redis.call('PEXPIRE', key, ARGV[4])
return epoch
)lua";

// ARGV: prefix, name, holder, epoch, ttl_ms. Returns 1 when renewed, 0 when the lease is lost.
constexpr std::string_view kRenew = R"lua(
local key = ARGV[1] .. 'named-lease:' .. ARGV[2]
local held = redis.call('HMGET', key, 'holder', 'epoch')
if held[1] ~= ARGV[3] or held[2] ~= ARGV[4] then return 0 end
redis.call('PEXPIRE', key, ARGV[5])
return 1
)lua";

// ARGV: prefix, name, holder, epoch. Returns 1 when it was released.
constexpr std::string_view kRelease = R"lua(
local key = ARGV[1] .. 'named-lease:' .. ARGV[2]
local held = redis.call('HMGET', key, 'holder', 'epoch')
if held[1] ~= ARGV[3] or held[2] ~= ARGV[4] then return 0 end
redis.call('DEL', key)
return 1
)lua";

// ARGV: prefix, group, member, ttl_ms (0: leaves). Returns how many members take part. The
// set expires with its longest-lived member, so that a group nobody runs any more leaves no key.
constexpr std::string_view kPresence = R"lua(
local key = ARGV[1] .. 'presence:' .. ARGV[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('ZADD', key, now + ttl, ARGV[3])
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', key, tonumber(last[2]))
else
  redis.call('ZREM', key, ARGV[3])
end
return redis.call('ZCARD', key)
)lua";

/// Redis takes whole milliseconds, at least one (PEXPIRE 0 would delete the key at once).
std::string ttl_ms(std::chrono::milliseconds ttl) {
  return std::to_string(std::max<std::int64_t>(1, ttl.count()));
}

}  // namespace

RedisLeases::RedisLeases(RedisClient& client, std::string key_prefix)
    : client_(client),
      prefix_(std::move(key_prefix)),
      acquire_(kAcquire),
      renew_(kRenew),
      release_(kRelease),
      presence_(kPresence) {}

asio::awaitable<Result<std::optional<Lease>>> RedisLeases::acquire(
    std::string name, std::string holder, std::chrono::milliseconds ttl) {
  std::vector<std::string> args{std::move(name), std::move(holder), ttl_ms(ttl)};
  auto reply = co_await eval_script(client_, prefix_, acquire_, std::move(args));
  if (!reply) co_return reply.error();
  if (reply->integer <= 0) co_return std::optional<Lease>{};
  co_return std::optional<Lease>{Lease{reply->integer}};
}

asio::awaitable<Result<bool>> RedisLeases::renew(std::string name, std::string holder,
                                                 std::int64_t epoch,
                                                 std::chrono::milliseconds ttl) {
  std::vector<std::string> args{std::move(name), std::move(holder), std::to_string(epoch),
                                ttl_ms(ttl)};
  auto reply = co_await eval_script(client_, prefix_, renew_, std::move(args));
  if (!reply) co_return reply.error();
  co_return reply->integer == 1;
}

asio::awaitable<Result<void>> RedisLeases::release(std::string name, std::string holder,
                                                   std::int64_t epoch) {
  std::vector<std::string> args{std::move(name), std::move(holder), std::to_string(epoch)};
  auto reply = co_await eval_script(client_, prefix_, release_, std::move(args));
  if (!reply) co_return reply.error();
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> RedisLeases::presence(std::string group,
                                                           std::string member,
                                                           std::chrono::milliseconds ttl) {
  const std::string ttl_text = ttl.count() > 0 ? ttl_ms(ttl) : "0";
  std::vector<std::string> args{std::move(group), std::move(member), ttl_text};
  auto reply = co_await eval_script(client_, prefix_, presence_, std::move(args));
  if (!reply) co_return reply.error();
  co_return static_cast<std::size_t>(std::max<std::int64_t>(0, reply->integer));
}

}  // namespace botgate::store
