#include "botgate/store/redis_scripts.hpp"

namespace botgate::store::redis_scripts {

// What every script shares. Keys of one bot hold its name length-prefixed ("3:bot"), so that a
// bot named "a:b" and a bot named "a" with a key "b..." never meet.
#define BOTGATE_LUA_PRELUDE                                                                    \
  "local P = ARGV[1]\n"                                                                        \
  "local function of_bot(bot) return #bot .. ':' .. bot end\n"                                 \
  "local function push(bot, lane, json, cred, first, now)\n"                                   \
  "  local id = redis.call('INCR', P .. 'seq:outbox')\n"                                       \
  "  redis.call('HSET', P .. 'out:' .. id, 'bot', bot, 'lane', lane, 'json', json, 'cred',\n"  \
  "    cred, 'state', 'q', 'attempts', 0, 'next_at', now, 'first', first)\n"                   \
  "  redis.call('ZADD', P .. 'outq:' .. of_bot(bot), id, id)\n"                                \
  "  return id\n"                                                                              \
  "end\n"

const std::string_view kAccept = BOTGATE_LUA_PRELUDE R"lua(
local ttl, now, bot = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local count = tonumber(ARGV[9])
for i = 1, count do
  if redis.call('EXISTS', P .. 'dedup:' .. ARGV[9 + i]) == 1 then return 0 end
end
if ttl > 0 then  -- a ttl of 0 keeps no key: the event is new each time
  for i = 1, count do
    redis.call('SET', P .. 'dedup:' .. ARGV[9 + i], '1', 'PX', ttl)
  end
end
local id = redis.call('INCR', P .. 'seq:inbox')
local sid = redis.call('XADD', P .. 'inbox:' .. of_bot(bot), '*', 'id', id)
redis.call('HSET', P .. 'in:' .. id, 'bot', bot, 'json', ARGV[5], 'cred', ARGV[6],
  'attempts', 0, 'at', now, 'sid', sid)
local cursor = redis.call('INCR', P .. 'seq:cursor')
redis.call('XADD', P .. 'log', cursor .. '-0', 'bot', bot, 'platform', ARGV[7], 'chat', ARGV[8],
  'json', ARGV[5], 'at', now)
return cursor
)lua";

// Leaves the inbox: the item's hash, its stream entry (acknowledged, then deleted).
#define BOTGATE_LUA_LEAVE_INBOX                                                                \
  "local function leave_inbox(id, bot, sid, group)\n"                                          \
  "  local stream = P .. 'inbox:' .. of_bot(bot)\n"                                            \
  "  redis.call('XACK', stream, group, sid)\n"                                                 \
  "  redis.call('XDEL', stream, sid)\n"                                                        \
  "  redis.call('DEL', P .. 'in:' .. id)\n"                                                    \
  "end\n"

const std::string_view kInboxComplete = BOTGATE_LUA_PRELUDE BOTGATE_LUA_LEAVE_INBOX R"lua(
local now, group, ref_ttl = ARGV[2], ARGV[3], ARGV[4]
local at = 6
for _ = 1, tonumber(ARGV[5]) do
  local id, keep, event_id, replies = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
  at = at + 4
  for _ = 1, replies do
    push(ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], 0, now)
    at = at + 4
  end
  local item = redis.call('HMGET', P .. 'in:' .. id, 'bot', 'sid', 'json', 'cred')
  if item[1] then
    if keep == '1' then
      local ref = P .. 'ref:' .. event_id
      redis.call('HSET', ref, 'json', item[3], 'cred', item[4])
      redis.call('PEXPIRE', ref, ref_ttl)
    end
    leave_inbox(id, item[1], item[2], group)
  end
end
return 1
)lua";

const std::string_view kInboxRetry = BOTGATE_LUA_PRELUDE R"lua(
local key = P .. 'in:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'err', ARGV[3])
return 1
)lua";

const std::string_view kInboxDeadLetter = BOTGATE_LUA_PRELUDE BOTGATE_LUA_LEAVE_INBOX R"lua(
local id, reason, now, group = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local item = redis.call('HMGET', P .. 'in:' .. id, 'bot', 'sid', 'json', 'cred', 'attempts', 'at')
if not item[1] then return -1 end
local dead = redis.call('INCR', P .. 'seq:dead')
redis.call('HSET', P .. 'dl:' .. dead, 'bot', item[1], 'json', item[3], 'cred', item[4],
  'attempts', tonumber(item[5]) + 1, 'reason', reason, 'at', item[6], 'dead_at', now)
redis.call('ZADD', P .. 'dlz', dead, dead)
redis.call('ZADD', P .. 'dlz:' .. of_bot(item[1]), dead, dead)
leave_inbox(id, item[1], item[2], group)
return dead
)lua";

const std::string_view kDeadLetterRetry = BOTGATE_LUA_PRELUDE R"lua(
local dead, now = ARGV[2], ARGV[3]
local letter = redis.call('HMGET', P .. 'dl:' .. dead, 'bot', 'json', 'cred')
if not letter[1] then return false end
local bot = letter[1]
local id = redis.call('INCR', P .. 'seq:inbox')
local sid = redis.call('XADD', P .. 'inbox:' .. of_bot(bot), '*', 'id', id)
redis.call('HSET', P .. 'in:' .. id, 'bot', bot, 'json', letter[2], 'cred', letter[3],
  'attempts', 0, 'at', now, 'sid', sid)
redis.call('DEL', P .. 'dl:' .. dead)
redis.call('ZREM', P .. 'dlz', dead)
redis.call('ZREM', P .. 'dlz:' .. of_bot(bot), dead)
return bot
)lua";

const std::string_view kDeadLetterDiscard = BOTGATE_LUA_PRELUDE R"lua(
local dead = ARGV[2]
local bot = redis.call('HGET', P .. 'dl:' .. dead, 'bot')
if not bot then return 0 end
redis.call('DEL', P .. 'dl:' .. dead)
redis.call('ZREM', P .. 'dlz', dead)
redis.call('ZREM', P .. 'dlz:' .. of_bot(bot), dead)
return 1
)lua";

const std::string_view kOutboxPush = BOTGATE_LUA_PRELUDE R"lua(
local now, client_key, bot, count = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local key_name = P .. 'ckey:' .. of_bot(bot) .. ':' .. client_key
if client_key ~= '' then
  local known = redis.call('GET', key_name)
  if known and redis.call('EXISTS', P .. 'out:' .. known) == 1 then
    return {tonumber(known), 0}
  end
end
local first = push(bot, ARGV[6], ARGV[7], ARGV[8], 0, now)
if count > 1 then
  local ids = {tostring(first)}
  for i = 2, count do
    local at = 6 + (i - 1) * 3
    ids[#ids + 1] = tostring(push(bot, ARGV[at], ARGV[at + 1], ARGV[at + 2], first, now))
  end
  redis.call('HSET', P .. 'out:' .. first, 'parts', table.concat(ids, ','))
end
if client_key ~= '' then
  redis.call('SET', key_name, first)
  redis.call('HSET', P .. 'out:' .. first, 'ckey', key_name)
end
return {first, 1}
)lua";

// Whether a message is out: taken by this store object (`token`), or by another instance (a
// consumer other than ours). A message taken by an earlier object of our own consumer (before a
// restart) is not: it is given again.
#define BOTGATE_LUA_TAKEN                                                                      \
  "local function is_out(taken, token, consumer)\n"                                            \
  "  if not taken or taken == '' then return false end\n"                                      \
  "  if taken == token then return true end\n"                                                 \
  "  return string.sub(taken, 1, #consumer + 1) ~= consumer .. '/'\n"                           \
  "end\n"

const std::string_view kOutboxTake = BOTGATE_LUA_PRELUDE BOTGATE_LUA_TAKEN R"lua(
local bot, token, consumer = ARGV[2], ARGV[3], ARGV[4]
local now, limit, lane_limit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ids = redis.call('ZRANGE', P .. 'outq:' .. of_bot(bot), 0, -1)
local rows = {}
local out = {}
for i, id in ipairs(ids) do
  local row = redis.call('HMGET', P .. 'out:' .. id, 'lane', 'taken', 'next_at')
  rows[i] = row
  if is_out(row[2], token, consumer) then out[row[1]] = (out[row[1]] or 0) + 1 end
end
local held = {}
local given = {}
for i, id in ipairs(ids) do
  if #given / 2 >= limit then break end
  local row = rows[i]
  local lane = row[1]
  if lane and not is_out(row[2], token, consumer) and not held[lane] then
    if tonumber(row[3]) > now or (out[lane] or 0) >= lane_limit then
      held[lane] = true
    else
      local key = P .. 'out:' .. id
      redis.call('HSET', key, 'taken', token)
      out[lane] = (out[lane] or 0) + 1
      given[#given + 1] = tonumber(id)
      given[#given + 1] = redis.call('HGETALL', key)
    end
  end
end
return given
)lua";

const std::string_view kOutboxNextDue = BOTGATE_LUA_PRELUDE BOTGATE_LUA_TAKEN R"lua(
local bot, token, consumer = ARGV[2], ARGV[3], ARGV[4]
local ids = redis.call('ZRANGE', P .. 'outq:' .. of_bot(bot), 0, -1)
local met = {}
local next_at = -1
for _, id in ipairs(ids) do
  local row = redis.call('HMGET', P .. 'out:' .. id, 'lane', 'taken', 'next_at')
  if row[1] and not is_out(row[2], token, consumer) and not met[row[1]] then
    met[row[1]] = true
    local at = tonumber(row[3])
    if next_at < 0 or at < next_at then next_at = at end
  end
end
return next_at
)lua";

const std::string_view kOutboxUpdate = BOTGATE_LUA_PRELUDE R"lua(
local key = P .. 'out:' .. ARGV[2]
local state = ARGV[3]
local bot = redis.call('HGET', key, 'bot')
if not bot then return -1 end
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', state, 'next_at', ARGV[4], 'err', ARGV[5], 'pmid', ARGV[6])
if state ~= 'q' then
  redis.call('HDEL', key, 'taken')
  redis.call('ZREM', P .. 'outq:' .. of_bot(bot), ARGV[2])
  redis.call('ZADD', P .. 'outdone', ARGV[7], ARGV[2])
end
return 1
)lua";

const std::string_view kOutboxStream = BOTGATE_LUA_PRELUDE R"lua(
local key = P .. 'out:' .. ARGV[2]
if redis.call('HGET', key, 'state') ~= 'q' then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
return 1
)lua";

const std::string_view kIdNumbers = BOTGATE_LUA_PRELUDE R"lua(
local bot = ARGV[2]
local numbers = {}
for i = 1, tonumber(ARGV[3]) do
  local at = 4 + (i - 1) * 3
  local kind, platform_id, context = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local map = P .. 'ids:' .. of_bot(bot) .. ':' .. kind
  local number = redis.call('HGET', map, platform_id)
  if not number then
    number = redis.call('INCR', P .. 'seq:ids')
    if number > 9007199254740991 then return redis.error_reply('ERR mapped ids ran out') end
    redis.call('HSET', map, platform_id, number)
    redis.call('HSET', P .. 'idn:' .. number, 'bot', bot, 'kind', kind, 'pid', platform_id,
      'ctx', context)
  elseif context ~= '' then
    redis.call('HSET', P .. 'idn:' .. number, 'ctx', context)
  end
  numbers[i] = tonumber(number)
end
return numbers
)lua";

const std::string_view kPurge = BOTGATE_LUA_PRELUDE R"lua(
local finished_cutoff, log_cutoff, batch = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local done = redis.call('ZRANGEBYSCORE', P .. 'outdone', '-inf', finished_cutoff, 'LIMIT', 0, batch)
for _, id in ipairs(done) do
  local key = P .. 'out:' .. id
  local ckey = redis.call('HGET', key, 'ckey')
  if ckey and redis.call('GET', ckey) == id then redis.call('DEL', ckey) end
  redis.call('DEL', key)
  redis.call('ZREM', P .. 'outdone', id)
end
local entries = redis.call('XRANGE', P .. 'log', '-', '+', 'COUNT', batch)
local keep_from = nil
local dropped = 0
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local at = nil
  for i = 1, #fields, 2 do if fields[i] == 'at' then at = tonumber(fields[i + 1]) end end
  if at and at < log_cutoff then
    keep_from = entry[1]
    dropped = dropped + 1
  else
    break
  end
end
if keep_from then
  -- Ids are "cursor-0": "cursor-1" is the first id past the last entry dropped.
  local cursor = string.match(keep_from, '^(%d+)-')
  redis.call('XTRIM', P .. 'log', 'MINID', cursor .. '-1')
end
return {#done, dropped}
)lua";

}  // namespace botgate::store::redis_scripts
