#pragma once
/// The Redis store's Lua scripts: each multi-key change of the Store contract runs as one
/// script, so that it is all or nothing and no other client sees it half done. Every script
/// takes the key prefix as ARGV[1] and builds its keys from it (a single Redis, not a cluster).
/// The key layout is described in redis_store.cpp.

#include "botgate/core/error.hpp"
#include "botgate/store/redis_reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace botgate::store {

class RedisClient;

/// A script's text and its SHA-1, for EVALSHA.
struct RedisScript {
  explicit RedisScript(std::string_view text);
  std::string_view body;
  std::string sha;
};

/// Runs `script` with ARGV = `prefix`, then `args`: EVALSHA, and EVAL when Redis does not have
/// the script (it restarted, or never saw it). An error reply is errc::store_failed.
boost::asio::awaitable<Result<RedisReply>> eval_script(RedisClient& client,
                                                       const std::string& prefix,
                                                       const RedisScript& script,
                                                       std::vector<std::string> args);

}  // namespace botgate::store

namespace botgate::store::redis_scripts {

/// ARGV: prefix, ttl_ms, now_ms, bot, event json, credential, platform, chat, partition, key
/// count, keys... Returns 0 for a duplicate (nothing stored), else the event's log cursor.
extern const std::string_view kAccept;
/// Store::accept_handled: dedup, log and the replies queued, without an inbox item.
extern const std::string_view kAcceptHandled;
/// ARGV: prefix, now_ms, group, reply ref ttl_ms, token, item count, then per item: inbox id,
/// keep ref (0/1), event id, reply count, then per reply: bot, partition, lane, json, credential.
/// Returns the ids of the items skipped: gone from the inbox, or in a partition whose lease
/// another store object holds (nothing of theirs changed, their replies were not queued).
extern const std::string_view kInboxComplete;
/// ARGV: prefix, inbox id, error.
extern const std::string_view kInboxRetry;
/// ARGV: prefix, inbox id, reason, now_ms, group, token. Returns the dead letter's id, or -1
/// (not in the inbox, or in a partition whose lease another store object holds).
extern const std::string_view kInboxDeadLetter;
/// ARGV: prefix, dead letter id, now_ms, group. Returns the bot, or nil.
extern const std::string_view kDeadLetterRetry;
/// ARGV: prefix, dead letter id. Returns 1 when it was there.
extern const std::string_view kDeadLetterDiscard;
/// ARGV: prefix, now_ms, client key, bot, part count, then per part: partition, lane, json,
/// credential.
/// Returns {id, queued (0/1)}.
extern const std::string_view kOutboxPush;
/// ARGV: prefix, bot, token, now_ms, limit, lane limit, then the partitions served. Returns {id,
/// {field, value, ...}, ...} of the messages taken.
extern const std::string_view kOutboxTake;
/// ARGV: prefix, bot, token, then the partitions served. Returns the earliest next attempt (ms),
/// or -1.
extern const std::string_view kOutboxNextDue;
/// ARGV: prefix, id, state (q, s, f), next_at_ms, error, platform message id, now_ms, token.
/// Returns 1, or -1 for an id the outbox does not have.
extern const std::string_view kOutboxUpdate;
/// ARGV: prefix, id, then field, value pairs. Sets them on a queued message only.
extern const std::string_view kOutboxStream;
/// ARGV: prefix, bot, key count, then per key: kind, platform id, context. Returns the numbers,
/// or an error reply when the numbers ran out.
extern const std::string_view kIdNumbers;
/// ARGV: prefix, bot, token, instance, lease ttl_ms, take own (0/1), partition count, then
/// the partitions to let go of. Records this object as one of the bot's members (those quiet
/// for ttl_ms are gone; with take own, an earlier object of the same instance too), renews its
/// leases on the bot's partitions, lets go of those listed, and takes free ones (and, with take
/// own, those of an earlier object of the same instance) up to its share, ceil(partitions /
/// members), each with a new epoch. Returns {share, partition, lease value, ...} of those held.
extern const std::string_view kLeaseRound;
/// ARGV: prefix, token, partition count, then bots. Deletes this object's leases on the bots'
/// partitions and its membership of them.
extern const std::string_view kLeaseReleaseAll;
/// ARGV: prefix, finished cutoff ms, log cutoff ms, batch. Deletes finished messages older
/// than the first cutoff and log entries older than the second; returns {messages, entries}.
extern const std::string_view kPurge;

}  // namespace botgate::store::redis_scripts
