#include "botgate/store/redis_rates.hpp"

#include "botgate/store/redis_client.hpp"

#include <algorithm>

namespace botgate::store {
namespace {

// ARGV: prefix, key, limit, window_ms, member. Returns 0 when a use was taken, else the
// milliseconds until asking again may succeed (at least 1). Times in microseconds of Redis's
// clock: below 2^53, so exact in Lua's numbers.
constexpr std::string_view kTake = R"lua(
local key = ARGV[1] .. 'rate:' .. ARGV[2]
local limit = math.max(tonumber(ARGV[3]), 1)
local window_ms = tonumber(ARGV[4])
local window = window_ms * 1000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local wait = 0
local held = redis.call('PTTL', ARGV[1] .. 'rate-hold:' .. ARGV[2])
if held > 0 then wait = held end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  -- The use that has to leave the window for the count to fall below the limit.
  local frees = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  local frees_in = math.ceil((tonumber(frees[2]) + window - now) / 1000)
  if frees_in > wait then wait = frees_in end
end
if wait > 0 then return math.max(wait, 1) end
redis.call('ZADD', key, now, ARGV[5])
redis.call('PEXPIRE', key, window_ms)
return 0
)lua";

// ARGV: prefix, key, duration_ms. A hold that ends later stays.
constexpr std::string_view kHold = R"lua(
local key = ARGV[1] .. 'rate-hold:' .. ARGV[2]
local duration = tonumber(ARGV[3])
if redis.call('PTTL', key) < duration then redis.call('SET', key, '1', 'PX', duration) end
return 1
)lua";

/// Redis takes whole milliseconds, at least one (PX 0 is refused, PEXPIRE 0 deletes at once).
std::string ms_of(std::chrono::milliseconds duration) {
  return std::to_string(std::max<std::int64_t>(1, duration.count()));
}

}  // namespace

RedisRates::RedisRates(RedisClient& client, std::string key_prefix, std::string member_prefix)
    : client_(client),
      prefix_(std::move(key_prefix)),
      member_prefix_(std::move(member_prefix)),
      take_(kTake),
      hold_(kHold) {}

boost::asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> RedisRates::take(
    std::string key, std::size_t limit, std::chrono::milliseconds window) {
  std::vector<std::string> args{std::move(key), std::to_string(std::max<std::size_t>(limit, 1)),
                                ms_of(window),
                                member_prefix_ + ":" + std::to_string(next_member_++)};
  auto reply = co_await eval_script(client_, prefix_, take_, std::move(args));
  if (!reply) co_return reply.error();
  if (reply->type != RedisReply::Type::integer) {
    co_return Error{errc::store_failed, "redis: rate take: not an integer reply"};
  }
  if (reply->integer <= 0) co_return std::optional<std::chrono::milliseconds>{};
  co_return std::optional<std::chrono::milliseconds>{std::chrono::milliseconds(reply->integer)};
}

boost::asio::awaitable<Result<void>> RedisRates::hold(std::string key,
                                                      std::chrono::milliseconds duration) {
  std::vector<std::string> args{std::move(key), ms_of(duration)};
  auto reply = co_await eval_script(client_, prefix_, hold_, std::move(args));
  if (!reply) co_return reply.error();
  co_return Result<void>{};
}

}  // namespace botgate::store
