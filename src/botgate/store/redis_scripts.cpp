#include "botgate/store/redis_scripts.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/store/redis_client.hpp"

namespace botgate::store {

RedisScript::RedisScript(std::string_view text)
    : body(text), sha(crypto::to_hex(crypto::sha1(text))) {}

boost::asio::awaitable<Result<RedisReply>> eval_script(RedisClient& client,
                                                       const std::string& prefix,
                                                       const RedisScript& script,
                                                       std::vector<std::string> args) {
  std::vector<std::string> command{"EVALSHA", script.sha, "0", prefix};
  command.insert(command.end(), std::make_move_iterator(args.begin()),
                 std::make_move_iterator(args.end()));
  auto reply = co_await client.command(command);
  if (!reply) co_return reply.error();
  if (reply->is_error("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = std::string(script.body);
    reply = co_await client.command(std::move(command));
    if (!reply) co_return reply.error();
  }
  if (reply->is_error()) co_return Error{errc::store_failed, "redis: " + reply->text};
  co_return reply;
}

}  // namespace botgate::store

namespace botgate::store::redis_scripts {

// What every script shares. Keys of one bot hold its name length-prefixed ("3:bot"), so that a
// bot named "a:b" and a bot named "a" with a key "b..." never meet.
#define BOTGATE_LUA_PRELUDE                                                                    \
  "local P = ARGV[1]\n"                                                                        \
  "local function of_bot(bot) return #bot .. ':' .. bot end\n"                                 \
  "local function push(bot, part, lane, json, cred, first, now)\n"                             \
  "  local id = redis.call('INCR', P .. 'seq:outbox')\n"                                       \
  "  redis.call('HSET', P .. 'out:' .. id, 'bot', bot, 'p', part, 'lane', lane, 'json', json,\n" \
  "    'cred', cred, 'state', 'q', 'attempts', 0, 'next_at', now, 'first', first)\n"           \
  "  redis.call('ZADD', P .. 'outq:' .. of_bot(bot) .. ':' .. part, id, id)\n"                 \
  "  return id\n"                                                                              \
  "end\n"                                                                                      \
  "local function wake(bot)\n"                                                                 \
  "  redis.call('XADD', P .. 'work', 'MAXLEN', '~', 1000, '*', 'bot', bot)\n"                  \
  "end\n"                                                                                      \
  "local function holder(lease) return string.match(lease, '^(%S+) ') end\n"

// What both accepts do: duplicate() checks the dedup keys (ARGV[first..]) and, for a new event,
// records them; log_event() logs the event under the next cursor.
#define BOTGATE_LUA_ACCEPT                                                                     \
  "local function duplicate(first, count, ttl)\n"                                               \
  "  for i = first, first + count - 1 do\n"                                                   \
  "    if redis.call('EXISTS', P .. 'dedup:' .. ARGV[i]) == 1 then return true end\n"         \
  "  end\n"                                                                                   \
  "  if ttl > 0 then  -- a ttl of 0 keeps no key: the event is new each time\n"              \
  "    for i = first, first + count - 1 do\n"                                                 \
  "      redis.call('SET', P .. 'dedup:' .. ARGV[i], '1', 'PX', ttl)\n"                      \
  "    end\n"                                                                                 \
  "  end\n"                                                                                   \
  "  return false\n"                                                                          \
  "end\n"                                                                                     \
  "local function log_event(bot, platform, chat, json, now)\n"                                \
  "  local cursor = redis.call('INCR', P .. 'seq:cursor')\n"                                  \
  "  redis.call('XADD', P .. 'log', cursor .. '-0', 'bot', bot, 'platform', platform,\n"     \
  "    'chat', chat, 'json', json, 'at', now)\n"                                              \
  "  return cursor\n"                                                                         \
  "end\n"

const std::string_view kAccept = BOTGATE_LUA_PRELUDE BOTGATE_LUA_ACCEPT R"lua(
local ttl, now, bot, part = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[9]
if duplicate(11, tonumber(ARGV[10]), ttl) then return 0 end
local id = redis.call('INCR', P .. 'seq:inbox')
local sid = redis.call('XADD', P .. 'inbox:' .. of_bot(bot) .. ':' .. part, '*', 'id', id)
redis.call('HSET', P .. 'in:' .. id, 'bot', bot, 'p', part, 'json', ARGV[5], 'cred', ARGV[6],
  'attempts', 0, 'at', now, 'sid', sid)
wake(bot)
return log_event(bot, ARGV[7], ARGV[8], ARGV[5], now)
)lua";

// An event handled before its accept (Store::accept_handled): dedup, the event log and the
// replies queued in one script, and no inbox item. No lease is needed: like any push, each reply
// joins its chat's partition, whose holder sends it.
const std::string_view kAcceptHandled = BOTGATE_LUA_PRELUDE BOTGATE_LUA_ACCEPT R"lua(
local ttl, now, bot = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local count = tonumber(ARGV[8])
if duplicate(9, count, ttl) then return 0 end
local at = 9 + count
local replies = tonumber(ARGV[at])
at = at + 1
for _ = 1, replies do
  push(bot, ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], 0, now)
  at = at + 4
end
if replies > 0 then wake(bot) end
return log_event(bot, ARGV[6], ARGV[7], ARGV[5], now)
)lua";

// Leaves the inbox: the item's hash, its stream entry (acknowledged, then deleted).
#define BOTGATE_LUA_LEAVE_INBOX                                                                \
  "local function leave_inbox(id, bot, part, sid, group)\n"                                    \
  "  local stream = P .. 'inbox:' .. of_bot(bot) .. ':' .. part\n"                             \
  "  redis.call('XACK', stream, group, sid)\n"                                                 \
  "  redis.call('XDEL', stream, sid)\n"                                                        \
  "  redis.call('DEL', P .. 'in:' .. id)\n"                                                    \
  "end\n"

const std::string_view kInboxComplete = BOTGATE_LUA_PRELUDE BOTGATE_LUA_LEAVE_INBOX R"lua(
local now, group, ref_ttl, token = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local at = 7
local skipped = {}
local woken = {}
for _ = 1, tonumber(ARGV[6]) do
  local id, keep, event_id, replies = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
  at = at + 4
  local item = redis.call('HMGET', P .. 'in:' .. id, 'bot', 'sid', 'json', 'cred', 'p')
  local mine = item[1] ~= false
  if mine then
    -- Fencing: another store object holds the item's partition now; it gives the item out
    -- again and its completion is the one that counts.
    local lease = redis.call('GET', P .. 'lease:' .. of_bot(item[1]) .. ':' .. item[5])
    if lease and holder(lease) ~= token then mine = false end
  end
  if mine then
    for _ = 1, replies do
      push(ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], 0, now)
      woken[ARGV[at]] = true
      at = at + 5
    end
    if keep == '1' then
      local ref = P .. 'ref:' .. event_id
      redis.call('HSET', ref, 'json', item[3], 'cred', item[4])
      redis.call('PEXPIRE', ref, ref_ttl)
    end
    leave_inbox(id, item[1], item[5], item[2], group)
  else
    -- Completed by another already (its replies are queued), or not ours to complete.
    at = at + 5 * replies
    skipped[#skipped + 1] = tonumber(id)
  end
end
for bot in pairs(woken) do wake(bot) end
return skipped
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
local item = redis.call('HMGET', P .. 'in:' .. id, 'bot', 'sid', 'json', 'cred', 'attempts', 'at',
  'p')
if not item[1] then return -1 end
-- Fencing, as for a completion: another store object serves the item's chat now and handles it.
local lease = redis.call('GET', P .. 'lease:' .. of_bot(item[1]) .. ':' .. item[7])
if lease and holder(lease) ~= ARGV[6] then return -1 end
local dead = redis.call('INCR', P .. 'seq:dead')
redis.call('HSET', P .. 'dl:' .. dead, 'bot', item[1], 'p', item[7], 'json', item[3], 'cred',
  item[4], 'attempts', tonumber(item[5]) + 1, 'reason', reason, 'at', item[6], 'dead_at', now)
redis.call('ZADD', P .. 'dlz', dead, dead)
redis.call('ZADD', P .. 'dlz:' .. of_bot(item[1]), dead, dead)
leave_inbox(id, item[1], item[7], item[2], group)
return dead
)lua";

const std::string_view kDeadLetterRetry = BOTGATE_LUA_PRELUDE R"lua(
local dead, now = ARGV[2], ARGV[3]
local letter = redis.call('HMGET', P .. 'dl:' .. dead, 'bot', 'json', 'cred', 'p')
if not letter[1] then return false end
-- A letter from before the inbox had partitions has none: its chat's order is not at stake (a
-- retried letter goes to the end of the inbox anyway).
local bot, part = letter[1], letter[4] or '0'
local id = redis.call('INCR', P .. 'seq:inbox')
local sid = redis.call('XADD', P .. 'inbox:' .. of_bot(bot) .. ':' .. part, '*', 'id', id)
redis.call('HSET', P .. 'in:' .. id, 'bot', bot, 'p', part, 'json', letter[2], 'cred', letter[3],
  'attempts', 0, 'at', now, 'sid', sid)
wake(bot)
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
local first = push(bot, ARGV[6], ARGV[7], ARGV[8], ARGV[9], 0, now)
if count > 1 then
  local ids = {tostring(first)}
  for i = 2, count do
    local at = 6 + (i - 1) * 4
    ids[#ids + 1] = tostring(push(bot, ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], first,
      now))
  end
  redis.call('HSET', P .. 'out:' .. first, 'parts', table.concat(ids, ','))
end
wake(bot)
if client_key ~= '' then
  redis.call('SET', key_name, first)
  redis.call('HSET', P .. 'out:' .. first, 'ckey', key_name)
end
return {first, 1}
)lua";

// The queued ids of the partitions this store object serves (ARGV from `from` on), in id order,
// leaving out a partition whose lease another object holds now (this one's view is stale).
#define BOTGATE_LUA_SERVED_IDS                                                                 \
  "local function served_ids(bot, token, from)\n"                                             \
  "  local ids = {}\n"                                                                        \
  "  for i = from, #ARGV do\n"                                                                \
  "    local lease = redis.call('GET', P .. 'lease:' .. of_bot(bot) .. ':' .. ARGV[i])\n"      \
  "    if lease and holder(lease) == token then\n"                                            \
  "      for _, id in ipairs(redis.call('ZRANGE', P .. 'outq:' .. of_bot(bot) .. ':' .. ARGV[i],\n" \
  "          0, -1)) do ids[#ids + 1] = tonumber(id) end\n"                                   \
  "    end\n"                                                                                 \
  "  end\n"                                                                                   \
  "  table.sort(ids)\n"                                                                       \
  "  return ids\n"                                                                            \
  "end\n"

// A message is out when this store object (`token`) took it. One another object took is not:
// this object holds its partition now, so that object lost it (it died, or its lease lapsed).
const std::string_view kOutboxTake = BOTGATE_LUA_PRELUDE BOTGATE_LUA_SERVED_IDS R"lua(
local bot, token = ARGV[2], ARGV[3]
local now, limit, lane_limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ids = served_ids(bot, token, 7)
local rows = {}
local out = {}
for i, id in ipairs(ids) do
  local row = redis.call('HMGET', P .. 'out:' .. id, 'lane', 'taken', 'next_at')
  rows[i] = row
  if row[2] == token then out[row[1]] = (out[row[1]] or 0) + 1 end
end
local held = {}
local given = {}
for i, id in ipairs(ids) do
  if #given / 2 >= limit then break end
  local row = rows[i]
  local lane = row[1]
  if lane and row[2] ~= token and not held[lane] then
    if tonumber(row[3]) > now or (out[lane] or 0) >= lane_limit then
      held[lane] = true
    else
      local key = P .. 'out:' .. id
      redis.call('HSET', key, 'taken', token)
      out[lane] = (out[lane] or 0) + 1
      given[#given + 1] = id
      given[#given + 1] = redis.call('HGETALL', key)
    end
  end
end
return given
)lua";

const std::string_view kOutboxNextDue = BOTGATE_LUA_PRELUDE BOTGATE_LUA_SERVED_IDS R"lua(
local bot, token = ARGV[2], ARGV[3]
local met = {}
local next_at = -1
for _, id in ipairs(served_ids(bot, token, 4)) do
  local row = redis.call('HMGET', P .. 'out:' .. id, 'lane', 'taken', 'next_at')
  if row[1] and row[2] ~= token and not met[row[1]] then
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
local row = redis.call('HMGET', key, 'bot', 'p', 'taken')
local bot = row[1]
if not bot then return -1 end
-- Fencing: a retry from a store object that lost the message's partition changes nothing (the
-- new holder took it and tries it itself). A send that ended is recorded from anyone: it
-- happened, and sending it again would repeat it.
if state == 'q' and row[3] and row[3] ~= ARGV[8] then return 1 end
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', state, 'next_at', ARGV[4], 'err', ARGV[5], 'pmid', ARGV[6])
if state ~= 'q' then
  redis.call('HDEL', key, 'taken')
  redis.call('ZREM', P .. 'outq:' .. of_bot(bot) .. ':' .. row[2], ARGV[2])
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

const std::string_view kLeaseRound = BOTGATE_LUA_PRELUDE R"lua(
local bot, token, instance, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local take_own, count = ARGV[6] == '1', tonumber(ARGV[7])
local let_go = {}
for i = 8, #ARGV do let_go[ARGV[i]] = true end
-- The bot's members: the store objects that serve it, each until `ttl` after its last round
-- (Redis's clock: the instances' clocks may differ). An instance that does not run the bot is
-- none of them, so the bot's partitions are shared among those that do.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local members = P .. 'members:' .. of_bot(bot)
if take_own then  -- an earlier object of this instance (before a restart) is gone
  for _, member in ipairs(redis.call('ZRANGE', members, 0, -1)) do
    if member ~= token and string.sub(member, 1, #instance + 1) == instance .. '/' then
      redis.call('ZREM', members, member)
    end
  end
end
redis.call('ZADD', members, now, token)
redis.call('ZREMRANGEBYSCORE', members, '-inf', now - ttl)
local live = redis.call('ZCARD', members)
local share = math.floor((count + live - 1) / live)
local base = P .. 'lease:' .. of_bot(bot) .. ':'
local held, n = {share}, 0
local own, free = {}, {}
for p = 0, count - 1 do
  local key = base .. p
  local lease = redis.call('GET', key)
  if lease and holder(lease) == token then
    if let_go[tostring(p)] then
      redis.call('DEL', key)
    else
      redis.call('PEXPIRE', key, ttl)
      held[#held + 1] = p
      held[#held + 1] = lease
      n = n + 1
    end
  elseif lease then
    if take_own and string.sub(lease, 1, #instance + 1) == instance .. '/' then
      own[#own + 1] = p
    end
  elseif not let_go[tostring(p)] then
    free[#free + 1] = p
  end
end
local function take(p)
  local epoch = redis.call('INCR', P .. 'epoch:' .. of_bot(bot) .. ':' .. p)
  local lease = token .. ' ' .. epoch
  redis.call('SET', base .. p, lease, 'PX', ttl)
  held[#held + 1] = p
  held[#held + 1] = lease
  n = n + 1
end
-- What this instance held before its restart first: it is the same process's work.
for _, p in ipairs(own) do take(p) end
for _, p in ipairs(free) do
  if n >= share then break end
  take(p)
end
return held
)lua";

const std::string_view kLeaseReleaseAll = BOTGATE_LUA_PRELUDE R"lua(
local token, count = ARGV[2], tonumber(ARGV[3])
for i = 4, #ARGV do
  local bot = ARGV[i]
  redis.call('ZREM', P .. 'members:' .. of_bot(bot), token)
  for p = 0, count - 1 do
    local key = P .. 'lease:' .. of_bot(bot) .. ':' .. p
    local lease = redis.call('GET', key)
    if lease and holder(lease) == token then redis.call('DEL', key) end
  end
end
return 1
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
