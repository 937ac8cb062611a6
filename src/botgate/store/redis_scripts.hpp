#pragma once
/// The Redis store's Lua scripts: each multi-key change of the Store contract runs as one
/// script, so that it is all or nothing and no other client sees it half done. Every script
/// takes the key prefix as ARGV[1] and builds its keys from it (a single Redis, not a cluster).
/// The key layout is described in redis_store.cpp.

#include <string_view>

namespace botgate::store::redis_scripts {

/// ARGV: prefix, ttl_ms, now_ms, bot, event json, credential, platform, chat, key count, keys...
/// Returns 0 for a duplicate (nothing stored), else the event's log cursor.
extern const std::string_view kAccept;
/// ARGV: prefix, now_ms, group, reply ref ttl_ms, item count, then per item: inbox id, keep ref
/// (0/1), event id, reply count, then per reply: bot, lane, json, credential.
extern const std::string_view kInboxComplete;
/// ARGV: prefix, inbox id, error.
extern const std::string_view kInboxRetry;
/// ARGV: prefix, inbox id, reason, now_ms, group. Returns the dead letter's id, or -1.
extern const std::string_view kInboxDeadLetter;
/// ARGV: prefix, dead letter id, now_ms, group. Returns the bot, or nil.
extern const std::string_view kDeadLetterRetry;
/// ARGV: prefix, dead letter id. Returns 1 when it was there.
extern const std::string_view kDeadLetterDiscard;
/// ARGV: prefix, now_ms, client key, bot, part count, then per part: lane, json, credential.
/// Returns {id, queued (0/1)}.
extern const std::string_view kOutboxPush;
/// ARGV: prefix, bot, token, consumer, now_ms, limit, lane limit. Returns {id, {field, value,
/// ...}, ...} of the messages taken.
extern const std::string_view kOutboxTake;
/// ARGV: prefix, bot, token, consumer. Returns the earliest next attempt (ms), or -1.
extern const std::string_view kOutboxNextDue;
/// ARGV: prefix, id, state (q, s, f), next_at_ms, error, platform message id, now_ms.
/// Returns 1, or -1 for an id the outbox does not have.
extern const std::string_view kOutboxUpdate;
/// ARGV: prefix, id, then field, value pairs. Sets them on a queued message only.
extern const std::string_view kOutboxStream;
/// ARGV: prefix, bot, key count, then per key: kind, platform id, context. Returns the numbers,
/// or an error reply when the numbers ran out.
extern const std::string_view kIdNumbers;
/// ARGV: prefix, finished cutoff ms, log cutoff ms, batch. Deletes finished messages older
/// than the first cutoff and log entries older than the second; returns {messages, entries}.
extern const std::string_view kPurge;

}  // namespace botgate::store::redis_scripts
