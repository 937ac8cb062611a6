// The Redis store. Key layout, every key under the prefix (default "botgate:"); <bot> is the
// bot's name length-prefixed ("5:alpha"), so that no two bots' keys meet; <p> is a partition
// (store/redis_partitions: a chat's events and messages are all in one of kPartitions):
//   dedup:<key>            a dedup key, SET NX-like with PX = its ttl (accept checks them all)
//   seq:inbox|outbox|dead|cursor|ids   INCR counters for ids, log cursors and mapped numbers
//   inbox:<bot>:<p>        a Stream of the partition's inbox (entries: id=<inbox id>); consumer
//                          group "botgate", each instance a consumer named after it
//   in:<id>                an inbox item: bot, p, json (Event JSON), cred, attempts, err, at, sid
//   log                    a Stream, entry id "<cursor>-0": bot, platform, chat, json, at
//   ref:<event id>         a reply reference (json, cred), PEXPIRE kReplyRefTtl
//   dl:<id>, dlz, dlz:<bot>   a dead letter, and its ids in sorted sets (all bots, one bot)
//   out:<id>               an outbox message part: bot, p, lane, json, cred, state (q/s/f),
//                          attempts, next_at, err, pmid, first, parts, ckey, taken, st_*
//   outq:<bot>:<p>         the ids of the partition's queued messages, a sorted set in id order
//   outdone                finished message ids by the time they ended (for the purge)
//   ckey:<bot>:<key>       a client key (idempotency_key) -> its message's id
//   token:<key>, session:<key>   hashes
//   named-lease:<name>, named-lease-epoch:<name>   named leases and their epochs (store/redis_leases)
//   rate:<key>, rate-hold:<key>   a shared rate limit's uses in its window (a sorted set scored
//                          by Redis's clock) and its hold (store/redis_rates)
//   ids:<bot>:<kind>, idn:<number>   the OneBot id map, both ways
//   members:<bot>, lease:<bot>:<p>, epoch:<bot>:<p>   the instances serving a bot, and which
//                          partition each serves (store/redis_partitions)
//   work                   a capped Stream of bot names: work was queued (redis_stream_tail)
//   msglog                 a capped Stream of the consoles' message log (store/redis_log_share)
//   presence:<group>       the members of a group, a sorted set by expiry (store/redis_leases)
// Multi-key changes are Lua scripts (store/redis_scripts), EVALSHA with EVAL on NOSCRIPT.
#include "botgate/store/redis_store.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/message_status.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/store/redis_client.hpp"
#include "botgate/store/redis_leases.hpp"
#include "botgate/store/redis_log_share.hpp"
#include "botgate/store/redis_partitions.hpp"
#include "botgate/store/redis_rates.hpp"
#include "botgate/store/redis_scripts.hpp"
#include "botgate/store/redis_stream_tail.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace botgate::store {

namespace {

namespace scripts = redis_scripts;
using Fields = std::unordered_map<std::string, std::string>;
using Args = std::vector<std::string>;

constexpr const char* kGroup = "botgate";

std::int64_t to_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemTime from_ms(std::int64_t ms) { return SystemTime{std::chrono::milliseconds(ms)}; }
std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

std::int64_t number_of(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{}) throw std::runtime_error("redis: a number expected, got something else");
  (void)end;
  return value;
}

std::string of_bot(const std::string& bot) { return std::to_string(bot.size()) + ":" + bot; }

Fields fields_of(const RedisReply& reply) {
  Fields fields;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields[reply.elements[i].text] = reply.elements[i + 1].text;
  }
  return fields;
}

std::string field(const Fields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->second;
}

/// The event log's entry `id` ("<cursor>-0"), its fields moved out.
LoggedEvent logged_of(std::string_view id, RedisReply& fields) {
  return LoggedEvent{number_of(id.substr(0, id.find('-'))),
                     take_field(fields, "bot"), take_field(fields, "platform"),
                     take_field(fields, "chat"), take_field(fields, "json")};
}

Event event_of(const Fields& fields) {
  auto event = event_from_json(field(fields, "json"));
  if (!event) throw std::runtime_error("redis: a stored event does not parse");
  event->reply_credential = field(fields, "cred");
  return std::move(*event);
}

InboxItem inbox_item_of(std::int64_t id, const Fields& fields) {
  return InboxItem{id, event_of(fields), static_cast<int>(number_of(field(fields, "attempts"))),
                   from_ms(number_of(field(fields, "at")))};
}

OutgoingMessage message_of(const Fields& fields) {
  auto message = outgoing_from_json(field(fields, "json"));
  if (!message) throw std::runtime_error("redis: a stored message does not parse");
  message->reply_credential = field(fields, "cred");
  return std::move(*message);
}

OutboxState state_of(const std::string& state) {
  return state == "s" ? OutboxState::sent : state == "f" ? OutboxState::failed
                                                         : OutboxState::queued;
}

/// A random name for one store object: what it takes in the outbox is marked with it, so that
/// a new object of the same instance knows what an earlier one held.
std::string object_token() {
  std::random_device device;
  std::string bytes(8, '\0');
  for (char& c : bytes) c = static_cast<char>(device());
  return crypto::to_hex(bytes);
}

using Script = RedisScript;

std::string inbox_stream(const std::string& prefix, const std::string& bot, int partition) {
  return prefix + "inbox:" + of_bot(bot) + ":" + std::to_string(partition);
}

/// A dedup ttl as the accept scripts take it: ms, 0 for none.
std::string dedup_ttl_ms(std::chrono::seconds ttl) {
  return std::to_string(std::max<std::int64_t>(0, ttl.count()) * 1000);
}

int partition_of_event(const Event& event) {
  return partition_of(chat_lane(event.chat.type, event.chat.id));
}

}  // namespace

struct RedisStore::Impl {
  Impl(const RedisUrl& url, RedisStoreOptions o)
      : options(std::move(o)),
        work(asio::make_work_guard(io)),
        client(io.get_executor(), url, client_options(options)),
        token(options.instance + "/" + object_token()),
        partitions(client, options.key_prefix, options.instance, token,
                   PartitionTiming{options.lease_ttl, options.lease_renew_every}),
        work_tail(io.get_executor(), url, client_options(options),
                  RedisStreamTailOptions{options.key_prefix + "work", "watch for other instances' work"}),
        log_tail(io.get_executor(), url, client_options(options),
                 RedisStreamTailOptions{options.key_prefix + "log", "follow the event log", 500}),
        log_share(io, client, url, client_options(options),
                  RedisLogShareOptions{options.key_prefix + "msglog", token,
                                       options.message_log_length}) {
    thread = std::thread([this] { io.run(); });
  }
  ~Impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  static RedisClientOptions client_options(const RedisStoreOptions& options) {
    RedisClientOptions client;
    client.ca_file = options.ca_file;
    client.command_timeout = options.command_timeout;
    return client;
  }

  RedisStoreOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  RedisClient client;
  const std::string token;  // "<instance>/<random>"
  PartitionLeases partitions;  // on the store's thread only
  RedisStreamTail work_tail;  // other instances' work
  RedisStreamTail log_tail;   // every instance's accepts, for the event log's listener
  RedisLogShare log_share;    // the consoles' message log, every instance's
  std::thread thread;
  std::size_t take_from = 0;  // the partition an inbox take starts at, turning (store's thread)

  std::mutex listener_mutex;  // guards the three below
  EventLogListener listener;
  std::int64_t last_cursor = 0;  // the last one the log's tail read
  WorkListener work_listener;

  const Script accept_script{scripts::kAccept};
  const Script accept_handled_script{scripts::kAcceptHandled};
  const Script complete_script{scripts::kInboxComplete};
  const Script retry_script{scripts::kInboxRetry};
  const Script dead_letter_script{scripts::kInboxDeadLetter};
  const Script dead_letter_retry_script{scripts::kDeadLetterRetry};
  const Script dead_letter_discard_script{scripts::kDeadLetterDiscard};
  const Script push_script{scripts::kOutboxPush};
  const Script take_script{scripts::kOutboxTake};
  const Script next_due_script{scripts::kOutboxNextDue};
  const Script update_script{scripts::kOutboxUpdate};
  const Script stream_script{scripts::kOutboxStream};
  const Script id_numbers_script{scripts::kIdNumbers};
  const Script purge_script{scripts::kPurge};
  RedisLeases leases{client, options.key_prefix};  // keys named-lease:*, named-lease-epoch:*
  RedisRates rates{client, options.key_prefix, token};  // keys rate:*, rate-hold:*

  std::string key(std::string_view name) const { return options.key_prefix + std::string(name); }

  /// Runs `work` (a callable returning an awaitable Result) on the store's thread; the caller
  /// resumes on its own executor. A throw inside becomes errc::store_failed.
  template <class F>
  auto run(F work) -> std::invoke_result_t<F&> {
    using Awaitable = std::invoke_result_t<F&>;
    using R = typename Awaitable::value_type;
    return asio::co_spawn(
        io, [work = std::move(work)]() mutable { return guarded<R>(work()); },
        asio::use_awaitable);
  }

  template <class R>
  static asio::awaitable<R> guarded(asio::awaitable<R> work) {
    try {
      co_return co_await std::move(work);
    } catch (const std::exception& e) {
      spdlog::error("store: {}", e.what());
      co_return Error{errc::store_failed, e.what()};
    }
  }

  asio::awaitable<Result<RedisReply>> command(Args args) {
    auto reply = co_await client.command(std::move(args));
    if (!reply) co_return reply.error();
    if (reply->is_error()) co_return Error{errc::store_failed, "redis: " + reply->text};
    co_return reply;
  }

  asio::awaitable<Result<std::vector<RedisReply>>> pipeline(std::vector<Args> commands) {
    auto replies = co_await client.pipeline(std::move(commands));
    if (!replies) co_return replies.error();
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) co_return Error{errc::store_failed, "redis: " + reply.text};
    }
    co_return replies;
  }

  asio::awaitable<Result<RedisReply>> eval(const Script& script, Args args) {
    co_return co_await eval_script(client, options.key_prefix, script, std::move(args));
  }

  asio::awaitable<Result<std::int64_t>> start() {
    Args command1{"GET", key("seq:cursor")};
    auto cursor = co_await command(std::move(command1));
    if (!cursor) co_return cursor.error();
    co_return cursor->is_nil() ? 0 : number_of(cursor->text);
  }

  void tell_work(const std::string& bot) {
    std::lock_guard lock(listener_mutex);
    if (work_listener) work_listener(bot);
  }

  /// Renews the leases and takes partitions over, every renew_every; tells of the bots that
  /// took a partition (their work may wait there).
  asio::awaitable<void> lease_loop() {
    asio::steady_timer timer(io);
    bool failing = false;
    for (;;) {
      timer.expires_after(options.lease_renew_every);
      co_await timer.async_wait(asio::use_awaitable);
      auto woken = co_await guarded<Result<std::vector<std::string>>>(partitions.round());
      if (!woken) {
        if (!failing) spdlog::warn("store: cannot renew partition leases: {}", woken.error().message());
        failing = true;
        continue;
      }
      failing = false;
      for (const std::string& bot : *woken) tell_work(bot);
    }
  }

  asio::awaitable<void> watch_loop() {
    co_await work_tail.run(
        std::string(),
        [this](std::string_view, RedisReply& entry) {
          const std::string bot = take_field(entry, "bot");
          if (!bot.empty()) tell_work(bot);
        },
        [this] {
          for (const std::string& bot : partitions.bots()) tell_work(bot);
        });
  }

  /// Tells the event log's listener of each event any instance accepted, in cursor order: the
  /// log's entry ids are the cursors ("<cursor>-0"), given by one counter in Redis.
  asio::awaitable<void> log_loop(std::int64_t after) {
    co_await log_tail.run(
        std::to_string(after) + "-0",
        [this](std::string_view id, RedisReply& entry) {
          LoggedEvent event = logged_of(id, entry);
          std::lock_guard lock(listener_mutex);
          last_cursor = event.cursor;
          if (listener) listener(std::move(event));
        },
        nullptr);
  }

  /// The first use of `bot`: its first lease round, before anything of it is given out.
  asio::awaitable<Result<void>> ensure_started(const std::string& bot) {
    if (partitions.knows(bot)) co_return Result<void>{};
    co_return co_await partitions.start(bot);
  }

  asio::awaitable<void> purge_loop() {
    asio::steady_timer timer(io);
    for (;;) {
      timer.expires_after(options.purge_every);
      co_await timer.async_wait(asio::use_awaitable);
      const std::int64_t now = now_ms();
      Args args{std::to_string(now - options.finished_retention.count()),
                std::to_string(now - options.event_retention.count()), "1000"};
      auto purged = co_await guarded<Result<RedisReply>>(eval(purge_script, std::move(args)));
      if (!purged) spdlog::warn("store: purge: {}", purged.error().message());
    }
  }

  // --- the inbox ---

  asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> keys,
                                       std::chrono::seconds ttl) {
    const std::string json = to_json(event);
    Args args{dedup_ttl_ms(ttl),
              std::to_string(now_ms()),
              event.bot,
              json,
              event.reply_credential,
              event.platform,
              event.chat.id,
              std::to_string(partition_of_event(event)),
              std::to_string(keys.size())};
    args.insert(args.end(), keys.begin(), keys.end());
    auto reply = co_await eval(accept_script, std::move(args));
    if (!reply) co_return reply.error();
    // The event log's listener hears of it from the log's tail, with the other instances'.
    co_return reply->integer != 0;
  }

  asio::awaitable<Result<bool>> accept_handled(Event event, std::vector<std::string> keys,
                                               std::chrono::seconds ttl,
                                               std::vector<OutgoingMessage> replies) {
    Args args{dedup_ttl_ms(ttl),
              std::to_string(now_ms()),
              event.bot,
              to_json(event),
              event.platform,
              event.chat.id,
              std::to_string(keys.size())};
    args.insert(args.end(), std::make_move_iterator(keys.begin()),
                std::make_move_iterator(keys.end()));
    args.push_back(std::to_string(replies.size()));
    for (const OutgoingMessage& reply : replies) {
      const std::string lane = reply.lane();
      args.insert(args.end(), {std::to_string(partition_of(lane)), lane, to_json(reply),
                               reply.reply_credential});
    }
    auto reply = co_await eval(accept_handled_script, std::move(args));
    if (!reply) co_return reply.error();
    co_return reply->integer != 0;
  }

  /// The items whose ids are `ids`, in that order; ids whose item is gone are left out.
  asio::awaitable<Result<std::vector<InboxItem>>> inbox_items(std::vector<std::int64_t> ids) {
    std::vector<Args> reads;
    for (std::int64_t id : ids) reads.push_back({"HGETALL", key("in:" + std::to_string(id))});
    auto replies = co_await pipeline(std::move(reads));
    if (!replies) co_return replies.error();
    std::vector<InboxItem> items;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const Fields fields = fields_of((*replies)[i]);
      if (!fields.empty()) items.push_back(inbox_item_of(ids[i], fields));
    }
    co_return items;
  }

  asio::awaitable<Result<std::vector<InboxItem>>> inbox_pending(std::string bot,
                                                                std::size_t limit) {
    // Up to `limit` from each partition; ids grow in accept order across them.
    std::vector<Args> reads;
    for (int p = 0; p < kPartitions; ++p) {
      reads.push_back({"XRANGE", inbox_stream(options.key_prefix, bot, p), "-", "+", "COUNT",
                       std::to_string(limit)});
    }
    auto replies = co_await pipeline(std::move(reads));
    if (!replies) co_return replies.error();
    std::vector<std::int64_t> ids;
    for (const RedisReply& entries : *replies) {
      for (const RedisReply& entry : entries.elements) {
        ids.push_back(number_of(field(fields_of(entry.elements.at(1)), "id")));
      }
    }
    std::sort(ids.begin(), ids.end());
    if (ids.size() > limit) ids.resize(limit);
    co_return co_await inbox_items(std::move(ids));
  }

  /// A partition just taken: its stream's group exists, and what its earlier holders had
  /// delivered and not acknowledged is moved to this instance's consumer (XAUTOCLAIM), to be
  /// given out again by the reread that follows.
  asio::awaitable<Result<void>> claim_partition(const std::string& stream) {
    Args create{"XGROUP", "CREATE", stream, kGroup, "0", "MKSTREAM"};
    auto created = co_await client.command(std::move(create));
    if (!created) co_return created.error();
    if (created->is_error() && !created->is_error("BUSYGROUP")) {
      co_return Error{errc::store_failed, "redis: " + created->text};
    }
    std::string from = "0-0";
    for (;;) {
      Args claim{"XAUTOCLAIM", stream, kGroup, options.instance, "0", from, "COUNT", "1000",
                 "JUSTID"};
      auto claimed = co_await command(std::move(claim));
      if (!claimed) co_return claimed.error();
      from = claimed->elements.at(0).text;
      if (from == "0-0") break;
    }
    co_return Result<void>{};
  }

  /// Reads up to `want` items of one partition this object serves: first what this instance's
  /// consumer holds and did not give out (taken before a restart, or claimed from an earlier
  /// holder), then new entries.
  asio::awaitable<Result<void>> take_partition(const std::string& bot, int p, std::size_t want,
                                               std::vector<std::int64_t>& ids) {
    const std::string stream = inbox_stream(options.key_prefix, bot, p);
    RedisPartition& part = partitions.of(bot)[static_cast<std::size_t>(p)];
    if (!part.claimed) {
      auto claimed = co_await claim_partition(stream);
      if (!claimed) co_return claimed.error();
      part.claimed = true;
    }
    std::vector<std::string> gone;  // entries of items no longer there: acknowledged here
    const std::size_t target = ids.size() + want;
    while (ids.size() < target) {
      const std::string from = part.rereading ? part.pending_after : ">";
      const std::size_t ask = target - ids.size();
      Args read_command{"XREADGROUP", "GROUP", kGroup, options.instance, "COUNT",
                        std::to_string(ask), "STREAMS", stream, from};
      auto read = co_await command(std::move(read_command));
      if (!read) co_return read.error();
      std::size_t got = 0;
      if (read->is_array() && !read->elements.empty()) {
        for (const RedisReply& entry : read->elements.at(0).elements.at(1).elements) {
          ++got;
          const std::string& sid = entry.elements.at(0).text;
          if (part.rereading) part.pending_after = sid;
          const RedisReply& values = entry.elements.at(1);
          if (values.is_nil() || values.elements.empty()) {
            gone.push_back(sid);
            continue;
          }
          const std::int64_t id = number_of(field(fields_of(values), "id"));
          if (part.inbox_out.contains(id)) continue;  // still out from before a lapse
          ids.push_back(id);
          partitions.inbox_given(bot, p, id);
        }
      }
      if (got < ask) {
        if (!part.rereading) break;
        part.rereading = false;
      }
    }
    if (!gone.empty()) {
      Args ack{"XACK", stream, kGroup};
      ack.insert(ack.end(), gone.begin(), gone.end());
      auto acked = co_await command(std::move(ack));
      if (!acked) co_return acked.error();
    }
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::vector<InboxItem>>> inbox_take(std::string bot, std::size_t limit) {
    auto started = co_await ensure_started(bot);
    if (!started) co_return started.error();
    std::vector<std::int64_t> ids;
    // Each take starts one partition further, so that a small limit does not always favour the
    // first partitions' chats.
    const std::size_t first = take_from++ % kPartitions;
    const auto now = RedisPartition::Clock::now();
    for (std::size_t i = 0; i < kPartitions && ids.size() < limit; ++i) {
      const int p = static_cast<int>((first + i) % kPartitions);
      if (!partitions.of(bot)[static_cast<std::size_t>(p)].serving(now)) continue;
      auto read = co_await take_partition(bot, p, limit - ids.size(), ids);
      if (!read) co_return give_back(bot, ids, read.error());
    }
    std::sort(ids.begin(), ids.end());  // oldest first, across partitions
    auto items = co_await inbox_items(ids);
    if (!items) co_return give_back(bot, ids, items.error());
    co_return items;
  }

  /// A take that failed part way: what it read (or what a read whose answer was lost, when the
  /// connection broke or Redis stopped, delivered) waits in this instance's pending lists, given
  /// to nobody. Every partition of the bot rereads its pending list from the start on the next
  /// take, where items still out are skipped, so those items are given out then.
  Error give_back(const std::string& bot, const std::vector<std::int64_t>& ids, Error error) {
    for (std::int64_t id : ids) partitions.inbox_ended(id);
    for (RedisPartition& part : partitions.of(bot)) {
      part.rereading = true;
      part.pending_after.assign(1, '0');
    }
    return error;
  }

  asio::awaitable<Result<void>> inbox_complete(std::vector<InboxCompletion> done) {
    Args args{std::to_string(now_ms()), kGroup,
              std::to_string(std::chrono::milliseconds(kReplyRefTtl).count()), token,
              std::to_string(done.size())};
    for (const InboxCompletion& item : done) {
      args.push_back(std::to_string(item.inbox_id));
      args.push_back(item.keep_reply_ref ? "1" : "0");
      args.push_back(item.event_id);
      args.push_back(std::to_string(item.replies.size()));
      for (const OutgoingMessage& reply : item.replies) {
        const std::string lane = reply.lane();
        args.insert(args.end(), {reply.bot, std::to_string(partition_of(lane)), lane,
                                 to_json(reply), reply.reply_credential});
      }
    }
    auto reply = co_await eval(complete_script, std::move(args));
    if (!reply) co_return reply.error();
    for (const RedisReply& skipped : reply->elements) {
      spdlog::info("store: inbox item {} was completed by another instance, or its partition "
                   "moved to one: its replies are theirs to queue",
                   skipped.integer);
    }
    for (const InboxCompletion& item : done) partitions.inbox_ended(item.inbox_id);
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> inbox_retry(std::int64_t id, std::string error) {
    Args command5{std::to_string(id), std::move(error)};
    auto reply = co_await eval(retry_script, std::move(command5));
    if (!reply) co_return reply.error();
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::int64_t>> inbox_dead_letter(std::int64_t id, std::string reason) {
    Args command6{std::to_string(id), std::move(reason), std::to_string(now_ms()), kGroup, token};
    auto reply = co_await eval(dead_letter_script, std::move(command6));
    if (!reply) co_return reply.error();
    partitions.inbox_ended(id);
    if (reply->integer < 0) {
      co_return Error{errc::not_found, "no such inbox item (or another instance serves its chat)"};
    }
    co_return reply->integer;
  }

  asio::awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string bot,
                                                                std::int64_t before,
                                                                std::size_t limit) {
    const std::string index = bot.empty() ? key("dlz") : key("dlz:" + of_bot(bot));
    Args command7{"ZREVRANGEBYSCORE", index,
                                 before == 0 ? "+inf" : "(" + std::to_string(before), "-inf",
                                 "LIMIT", "0", std::to_string(limit)};
    auto ids = co_await command(std::move(command7));
    if (!ids) co_return ids.error();
    std::vector<Args> reads;
    for (const RedisReply& id : ids->elements) reads.push_back({"HGETALL", key("dl:" + id.text)});
    auto replies = co_await pipeline(std::move(reads));
    if (!replies) co_return replies.error();
    std::vector<DeadLetter> letters;
    for (std::size_t i = 0; i < replies->size(); ++i) {
      const Fields fields = fields_of((*replies)[i]);
      if (fields.empty()) continue;
      letters.push_back(DeadLetter{number_of(ids->elements[i].text), event_of(fields),
                                   static_cast<int>(number_of(field(fields, "attempts"))),
                                   field(fields, "reason"),
                                   from_ms(number_of(field(fields, "at"))),
                                   from_ms(number_of(field(fields, "dead_at")))});
    }
    co_return letters;
  }

  asio::awaitable<Result<std::optional<std::string>>> dead_letter_retry(std::int64_t id) {
    Args args{std::to_string(id), std::to_string(now_ms()), kGroup};
    auto reply = co_await eval(dead_letter_retry_script, std::move(args));
    if (!reply) co_return reply.error();
    if (reply->is_nil()) co_return std::optional<std::string>{};
    co_return std::optional<std::string>{reply->text};
  }

  asio::awaitable<Result<bool>> dead_letter_discard(std::int64_t id) {
    Args command8{std::to_string(id)};
    auto reply = co_await eval(dead_letter_discard_script, std::move(command8));
    if (!reply) co_return reply.error();
    co_return reply->integer == 1;
  }

  // --- the event log ---

  asio::awaitable<Result<std::vector<LoggedEvent>>> events_after(std::int64_t after,
                                                                 EventFilter filter,
                                                                 std::size_t limit) {
    std::vector<LoggedEvent> out;
    std::string from = "(" + std::to_string(after) + "-0";
    const std::size_t chunk = std::clamp<std::size_t>(limit, 100, 1000);
    while (out.size() < limit) {
      Args command9{"XRANGE", key("log"), from, "+", "COUNT",
                                       std::to_string(chunk)};
      auto entries = co_await command(std::move(command9));
      if (!entries) co_return entries.error();
      for (RedisReply& entry : entries->elements) {
        const std::string& id = entry.elements.at(0).text;
        from = "(" + id;
        LoggedEvent event = logged_of(id, entry.elements.at(1));
        if (!filter.matches(event.bot, event.platform, event.chat)) continue;
        out.push_back(std::move(event));
        if (out.size() == limit) break;
      }
      if (entries->elements.size() < chunk) break;
    }
    co_return out;
  }

  asio::awaitable<Result<std::optional<Event>>> reply_ref(std::string event_id) {
    Args command10{"HGETALL", key("ref:" + event_id)};
    auto ref = co_await command(std::move(command10));
    if (!ref) co_return ref.error();
    const Fields fields = fields_of(*ref);
    if (fields.empty()) co_return std::optional<Event>{};
    co_return std::optional<Event>{event_of(fields)};
  }

  // --- the outbox ---

  asio::awaitable<Result<OutboxPushed>> outbox_push(std::vector<OutgoingMessage> parts,
                                                    std::string client_key) {
    if (parts.empty()) co_return Error{errc::invalid_argument, "a message with no parts"};
    Args args{std::to_string(now_ms()), std::move(client_key), parts.front().bot,
              std::to_string(parts.size())};
    for (const OutgoingMessage& part : parts) {
      if (part.bot != parts.front().bot) {
        co_return Error{errc::invalid_argument, "the parts of one message are of several bots"};
      }
      const std::string lane = part.lane();
      args.insert(args.end(), {std::to_string(partition_of(lane)), lane, to_json(part),
                               part.reply_credential});
    }
    auto reply = co_await eval(push_script, std::move(args));
    if (!reply) co_return reply.error();
    co_return OutboxPushed{reply->elements.at(0).integer, reply->elements.at(1).integer == 1};
  }

  static OutboxItem outbox_item_of(std::int64_t id, const Fields& fields) {
    OutboxItem item{id, message_of(fields), static_cast<int>(number_of(field(fields, "attempts"))),
                    {}};
    item.stream.text = field(fields, "st_text");
    const std::string end = field(fields, "st_end");
    item.stream.end = end.empty() ? StreamEnd::open : static_cast<StreamEnd>(number_of(end));
    item.stream.progress = field(fields, "st_prog");
    return item;
  }

  asio::awaitable<Result<std::vector<OutboxItem>>> outbox_take(std::string bot, SystemTime now,
                                                               std::size_t limit,
                                                               std::size_t lane_limit) {
    auto started = co_await ensure_started(bot);
    if (!started) co_return started.error();
    std::vector<std::string> served = partitions.served(bot);
    if (served.empty()) co_return std::vector<OutboxItem>{};
    Args args{bot, token, std::to_string(to_ms(now)), std::to_string(limit),
              std::to_string(lane_limit)};
    args.insert(args.end(), served.begin(), served.end());
    auto reply = co_await eval(take_script, std::move(args));
    if (!reply) co_return reply.error();
    std::vector<OutboxItem> items;
    for (std::size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
      const Fields fields = fields_of(reply->elements[i + 1]);
      const std::int64_t id = reply->elements[i].integer;
      partitions.outbox_given(bot, static_cast<int>(number_of(field(fields, "p"))), id);
      items.push_back(outbox_item_of(id, fields));
    }
    co_return items;
  }

  asio::awaitable<Result<std::optional<SystemTime>>> outbox_next_due(std::string bot) {
    auto started = co_await ensure_started(bot);
    if (!started) co_return started.error();
    std::vector<std::string> served = partitions.served(bot);
    if (served.empty()) co_return std::optional<SystemTime>{};
    Args args{bot, token};
    args.insert(args.end(), served.begin(), served.end());
    auto reply = co_await eval(next_due_script, std::move(args));
    if (!reply) co_return reply.error();
    if (reply->integer < 0) co_return std::optional<SystemTime>{};
    co_return std::optional<SystemTime>{from_ms(reply->integer)};
  }

  asio::awaitable<Result<void>> outbox_update(std::int64_t id, std::string state,
                                              std::int64_t next_at, std::string error,
                                              std::string platform_message_id) {
    const bool ends = state != "q";
    Args args{std::to_string(id),    std::move(state),
              std::to_string(next_at), std::move(error),
              std::move(platform_message_id), std::to_string(now_ms()), token};
    auto reply = co_await eval(update_script, std::move(args));
    if (!reply) co_return reply.error();
    if (ends) partitions.outbox_ended(id);
    if (reply->integer < 0) {
      co_return Error{errc::not_found, "no outbox message " + std::to_string(id)};
    }
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> outbox_stream(std::int64_t id, Args fields) {
    Args args{std::to_string(id)};
    args.insert(args.end(), fields.begin(), fields.end());
    auto reply = co_await eval(stream_script, std::move(args));
    if (!reply) co_return reply.error();
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::optional<OutboxStatus>>> outbox_status(std::int64_t id) {
    Args command12{"HGETALL", key("out:" + std::to_string(id))};
    auto first = co_await command(std::move(command12));
    if (!first) co_return first.error();
    const Fields first_fields = fields_of(*first);
    if (first_fields.empty()) co_return std::optional<OutboxStatus>{};
    std::vector<std::int64_t> ids{id};
    if (const std::string parts = field(first_fields, "parts"); !parts.empty()) {
      ids.clear();
      std::size_t from = 0;
      while (from <= parts.size()) {
        const std::size_t comma = std::min(parts.find(',', from), parts.size());
        ids.push_back(number_of(std::string_view(parts).substr(from, comma - from)));
        from = comma + 1;
      }
    }
    std::vector<Args> reads;
    for (std::size_t i = 1; i < ids.size(); ++i) {
      reads.push_back({"HGETALL", key("out:" + std::to_string(ids[i]))});
    }
    auto later = co_await pipeline(std::move(reads));
    if (!later) co_return later.error();
    std::vector<StoredPart> stored;
    auto add = [&](std::int64_t part_id, const Fields& fields) {
      stored.push_back(StoredPart{
          OutboxPart{part_id, state_of(field(fields, "state")), field(fields, "pmid")},
          static_cast<int>(number_of(field(fields, "attempts"))), field(fields, "err"),
          field(fields, "bot")});
    };
    add(id, first_fields);
    for (std::size_t i = 1; i < ids.size(); ++i) {
      const Fields fields = fields_of((*later)[i - 1]);
      if (!fields.empty()) add(ids[i], fields);
    }
    const OutgoingMessage message = message_of(first_fields);
    OutboxStatus status = message_status(std::move(stored), message);
    if (message.stream) {
      const std::string end = field(first_fields, "st_end");
      status.stream = end.empty() ? StreamEnd::open : static_cast<StreamEnd>(number_of(end));
    }
    co_return std::optional<OutboxStatus>{std::move(status)};
  }

  asio::awaitable<Result<QueueDepth>> queue_depth(std::string bot) {
    std::vector<Args> counts{{"ZCARD", key("dlz:" + of_bot(bot))}};
    for (int p = 0; p < kPartitions; ++p) {
      counts.push_back({"XLEN", inbox_stream(options.key_prefix, bot, p)});
      counts.push_back({"ZCARD", key("outq:" + of_bot(bot) + ":" + std::to_string(p))});
    }
    auto replies = co_await pipeline(std::move(counts));
    if (!replies) co_return replies.error();
    QueueDepth depth{0, 0, (*replies)[0].integer};
    for (std::size_t i = 1; i + 1 < replies->size(); i += 2) {
      depth.inbox += (*replies)[i].integer;
      depth.outbox += (*replies)[i + 1].integer;
    }
    co_return depth;
  }

  // --- tokens, sessions, the id map ---

  asio::awaitable<Result<std::optional<CachedToken>>> token_get(std::string name) {
    Args command14{"HGETALL", key("token:" + name)};
    auto reply = co_await command(std::move(command14));
    if (!reply) co_return reply.error();
    const Fields fields = fields_of(*reply);
    if (fields.empty()) co_return std::optional<CachedToken>{};
    co_return std::optional<CachedToken>{
        CachedToken{field(fields, "value"), from_ms(number_of(field(fields, "expires_at")))}};
  }

  asio::awaitable<Result<void>> simple(Args args) {
    auto reply = co_await command(std::move(args));
    if (!reply) co_return reply.error();
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::optional<GatewaySession>>> session_get(std::string name) {
    Args command15{"HGETALL", key("session:" + name)};
    auto reply = co_await command(std::move(command15));
    if (!reply) co_return reply.error();
    const Fields fields = fields_of(*reply);
    if (fields.empty()) co_return std::optional<GatewaySession>{};
    co_return std::optional<GatewaySession>{
        GatewaySession{field(fields, "id"), number_of(field(fields, "seq")),
                       field(fields, "url"), field(fields, "user")}};
  }

  asio::awaitable<Result<void>> session_put(std::string name, GatewaySession session) {
    Args command16{"DEL", key("session:" + name)};
    if (session.session_id.empty()) co_return co_await simple(std::move(command16));
    Args command17{"HSET", key("session:" + name), "id", session.session_id, "seq",
                               std::to_string(session.sequence), "url", session.resume_url,
                               "user", session.user_id};
    co_return co_await simple(std::move(command17));
  }

  asio::awaitable<Result<std::vector<std::int64_t>>> id_numbers(std::string bot,
                                                                std::vector<IdKey> keys) {
    Args args{bot, std::to_string(keys.size())};
    for (const IdKey& k : keys) {
      args.insert(args.end(),
                  {std::to_string(static_cast<int>(k.kind)), k.platform_id, k.context});
    }
    auto reply = co_await eval(id_numbers_script, std::move(args));
    if (!reply) co_return reply.error();
    std::vector<std::int64_t> numbers;
    for (const RedisReply& n : reply->elements) numbers.push_back(n.integer);
    co_return numbers;
  }

  asio::awaitable<Result<std::optional<IdEntry>>> id_entry(std::string bot, IdKind kind,
                                                           std::int64_t number) {
    Args command18{"HGETALL", key("idn:" + std::to_string(number))};
    auto reply = co_await command(std::move(command18));
    if (!reply) co_return reply.error();
    const Fields fields = fields_of(*reply);
    if (fields.empty() || field(fields, "bot") != bot ||
        field(fields, "kind") != std::to_string(static_cast<int>(kind))) {
      co_return std::optional<IdEntry>{};
    }
    co_return std::optional<IdEntry>{IdEntry{field(fields, "pid"), field(fields, "ctx")}};
  }
};

RedisStore::RedisStore(const RedisUrl& url, RedisStoreOptions options)
    : impl_(std::make_unique<Impl>(url, std::move(options))) {
  Impl& impl = *impl_;
  auto started =
      asio::co_spawn(impl.io, Impl::guarded<Result<std::int64_t>>(impl.start()), asio::use_future)
          .get();
  if (!started) throw std::runtime_error("cannot open the Redis store: " + started.error().detail);
  impl.last_cursor = *started;
  asio::co_spawn(impl.io, impl.purge_loop(), asio::detached);
  asio::co_spawn(impl.io, impl.log_loop(*started), asio::detached);
  asio::co_spawn(impl.io, impl.lease_loop(), asio::detached);
  asio::co_spawn(impl.io, impl.watch_loop(), asio::detached);
}

RedisStore::~RedisStore() {
  if (!impl_->options.release_on_close) return;
  // A clean shutdown: the others take this object's partitions over at once. Redis gone is no
  // reason to wait: the leases then lapse by themselves.
  Impl& impl = *impl_;
  auto released = asio::co_spawn(
      impl.io, Impl::guarded<Result<void>>(impl.partitions.release_all()), asio::use_future);
  if (released.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
    if (auto result = released.get(); !result) {
      spdlog::warn("store: cannot let go of the partition leases: {}", result.error().message());
    }
  }
}

asio::awaitable<Result<bool>> RedisStore::accept(Event event, std::vector<std::string> keys,
                                                 std::chrono::seconds ttl) {
  Impl* impl = impl_.get();
  return impl->run([impl, event = std::move(event), keys = std::move(keys), ttl]() mutable {
    return impl->accept(std::move(event), std::move(keys), ttl);
  });
}

asio::awaitable<Result<bool>> RedisStore::accept_handled(Event event,
                                                         std::vector<std::string> keys,
                                                         std::chrono::seconds ttl,
                                                         std::vector<OutgoingMessage> replies) {
  Impl* impl = impl_.get();
  return impl->run([impl, event = std::move(event), keys = std::move(keys), ttl,
                    replies = std::move(replies)]() mutable {
    return impl->accept_handled(std::move(event), std::move(keys), ttl, std::move(replies));
  });
}

asio::awaitable<Result<std::vector<InboxItem>>> RedisStore::inbox_pending(std::string bot,
                                                                          std::size_t limit) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), limit]() mutable {
    return impl->inbox_pending(std::move(bot), limit);
  });
}

asio::awaitable<Result<std::vector<InboxItem>>> RedisStore::inbox_take(std::string bot,
                                                                       std::size_t limit) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), limit]() mutable {
    return impl->inbox_take(std::move(bot), limit);
  });
}

asio::awaitable<Result<void>> RedisStore::inbox_complete(std::vector<InboxCompletion> done) {
  Impl* impl = impl_.get();
  return impl->run([impl, done = std::move(done)]() mutable {
    return impl->inbox_complete(std::move(done));
  });
}

asio::awaitable<Result<void>> RedisStore::inbox_retry(std::int64_t id, std::string error) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, error = std::move(error)]() mutable {
    return impl->inbox_retry(id, std::move(error));
  });
}

asio::awaitable<Result<std::int64_t>> RedisStore::inbox_dead_letter(std::int64_t id,
                                                                    std::string reason) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, reason = std::move(reason)]() mutable {
    return impl->inbox_dead_letter(id, std::move(reason));
  });
}

asio::awaitable<Result<std::vector<DeadLetter>>> RedisStore::dead_letters(std::string bot,
                                                                          std::int64_t before,
                                                                          std::size_t limit) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), before, limit]() mutable {
    return impl->dead_letters(std::move(bot), before, limit);
  });
}

asio::awaitable<Result<std::optional<std::string>>> RedisStore::dead_letter_retry(
    std::int64_t id) {
  Impl* impl = impl_.get();
  return impl->run([impl, id] { return impl->dead_letter_retry(id); });
}

asio::awaitable<Result<bool>> RedisStore::dead_letter_discard(std::int64_t id) {
  Impl* impl = impl_.get();
  return impl->run([impl, id] { return impl->dead_letter_discard(id); });
}

asio::awaitable<Result<std::vector<LoggedEvent>>> RedisStore::events_after(std::int64_t after,
                                                                           EventFilter filter,
                                                                           std::size_t limit) {
  Impl* impl = impl_.get();
  return impl->run([impl, after, filter = std::move(filter), limit]() mutable {
    return impl->events_after(after, std::move(filter), limit);
  });
}

void RedisStore::watch_work(WorkListener listener) {
  std::lock_guard lock(impl_->listener_mutex);
  impl_->work_listener = std::move(listener);
}

std::int64_t RedisStore::watch_events(EventLogListener listener) {
  std::lock_guard lock(impl_->listener_mutex);
  impl_->listener = std::move(listener);
  return impl_->last_cursor;
}

asio::awaitable<Result<std::optional<Event>>> RedisStore::reply_ref(std::string event_id) {
  Impl* impl = impl_.get();
  return impl->run([impl, event_id = std::move(event_id)]() mutable {
    return impl->reply_ref(std::move(event_id));
  });
}

asio::awaitable<Result<std::int64_t>> RedisStore::outbox_push(OutgoingMessage message) {
  std::vector<OutgoingMessage> parts;
  parts.push_back(std::move(message));
  auto pushed = co_await outbox_push_message(std::move(parts), std::string());
  if (!pushed) co_return pushed.error();
  co_return pushed->id;
}

asio::awaitable<Result<OutboxPushed>> RedisStore::outbox_push_message(
    std::vector<OutgoingMessage> parts, std::string client_key) {
  Impl* impl = impl_.get();
  return impl->run([impl, parts = std::move(parts), client_key = std::move(client_key)]() mutable {
    return impl->outbox_push(std::move(parts), std::move(client_key));
  });
}

asio::awaitable<Result<std::vector<OutboxItem>>> RedisStore::outbox_take(std::string bot,
                                                                         SystemTime now,
                                                                         std::size_t limit,
                                                                         std::size_t lane_limit) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), now, limit, lane_limit]() mutable {
    return impl->outbox_take(std::move(bot), now, limit, lane_limit);
  });
}

asio::awaitable<Result<std::optional<SystemTime>>> RedisStore::outbox_next_due(std::string bot) {
  Impl* impl = impl_.get();
  return impl->run(
      [impl, bot = std::move(bot)]() mutable { return impl->outbox_next_due(std::move(bot)); });
}

asio::awaitable<Result<void>> RedisStore::outbox_sent(std::int64_t id,
                                                      std::string platform_message_id) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, pmid = std::move(platform_message_id)]() mutable {
    return impl->outbox_update(id, "s", 0, {}, std::move(pmid));
  });
}

asio::awaitable<Result<void>> RedisStore::outbox_retry(std::int64_t id, SystemTime next_attempt,
                                                       std::string error) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, next_attempt, error = std::move(error)]() mutable {
    return impl->outbox_update(id, "q", to_ms(next_attempt), std::move(error), {});
  });
}

asio::awaitable<Result<void>> RedisStore::outbox_failed(std::int64_t id, std::string error) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, error = std::move(error)]() mutable {
    return impl->outbox_update(id, "f", 0, std::move(error), {});
  });
}

asio::awaitable<Result<void>> RedisStore::outbox_stream_text(std::int64_t id, std::string text,
                                                             StreamEnd end) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, text = std::move(text), end]() mutable {
    return impl->outbox_stream(
        id, {"st_text", std::move(text), "st_end", std::to_string(static_cast<int>(end))});
  });
}

asio::awaitable<Result<void>> RedisStore::outbox_stream_progress(std::int64_t id,
                                                                 std::string progress) {
  Impl* impl = impl_.get();
  return impl->run([impl, id, progress = std::move(progress)]() mutable {
    return impl->outbox_stream(id, {"st_prog", std::move(progress)});
  });
}

asio::awaitable<Result<std::optional<OutboxStatus>>> RedisStore::outbox_status(std::int64_t id) {
  Impl* impl = impl_.get();
  return impl->run([impl, id] { return impl->outbox_status(id); });
}

asio::awaitable<Result<QueueDepth>> RedisStore::queue_depth(std::string bot) {
  Impl* impl = impl_.get();
  return impl->run(
      [impl, bot = std::move(bot)]() mutable { return impl->queue_depth(std::move(bot)); });
}

asio::awaitable<Result<std::optional<CachedToken>>> RedisStore::token_get(std::string key) {
  Impl* impl = impl_.get();
  return impl->run(
      [impl, key = std::move(key)]() mutable { return impl->token_get(std::move(key)); });
}

asio::awaitable<Result<void>> RedisStore::token_put(std::string key, CachedToken token) {
  Impl* impl = impl_.get();
  return impl->run([impl, key = std::move(key), token = std::move(token)]() mutable {
    return impl->simple({"HSET", impl->key("token:" + key), "value", std::move(token.value),
                         "expires_at", std::to_string(to_ms(token.expires_at))});
  });
}

asio::awaitable<Result<void>> RedisStore::token_erase(std::string key) {
  Impl* impl = impl_.get();
  return impl->run([impl, key = std::move(key)]() mutable {
    return impl->simple({"DEL", impl->key("token:" + key)});
  });
}

asio::awaitable<Result<std::vector<std::int64_t>>> RedisStore::id_numbers(
    std::string bot, std::vector<IdKey> keys) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), keys = std::move(keys)]() mutable {
    return impl->id_numbers(std::move(bot), std::move(keys));
  });
}

asio::awaitable<Result<std::optional<IdEntry>>> RedisStore::id_entry(std::string bot, IdKind kind,
                                                                     std::int64_t number) {
  Impl* impl = impl_.get();
  return impl->run([impl, bot = std::move(bot), kind, number]() mutable {
    return impl->id_entry(std::move(bot), kind, number);
  });
}

asio::awaitable<Result<std::optional<GatewaySession>>> RedisStore::session_get(std::string key) {
  Impl* impl = impl_.get();
  return impl->run(
      [impl, key = std::move(key)]() mutable { return impl->session_get(std::move(key)); });
}

asio::awaitable<Result<void>> RedisStore::session_put(std::string key, GatewaySession session) {
  Impl* impl = impl_.get();
  return impl->run([impl, key = std::move(key), session = std::move(session)]() mutable {
    return impl->session_put(std::move(key), std::move(session));
  });
}

asio::awaitable<Result<std::optional<Lease>>> RedisStore::lease_acquire(
    std::string name, std::string holder, std::chrono::milliseconds ttl) {
  Impl* impl = impl_.get();
  return impl->run([impl, name = std::move(name), holder = std::move(holder), ttl]() mutable {
    return impl->leases.acquire(std::move(name), std::move(holder), ttl);
  });
}

asio::awaitable<Result<bool>> RedisStore::lease_renew(std::string name, std::string holder,
                                                      std::int64_t epoch,
                                                      std::chrono::milliseconds ttl) {
  Impl* impl = impl_.get();
  return impl->run(
      [impl, name = std::move(name), holder = std::move(holder), epoch, ttl]() mutable {
        return impl->leases.renew(std::move(name), std::move(holder), epoch, ttl);
      });
}

asio::awaitable<Result<void>> RedisStore::lease_release(std::string name, std::string holder,
                                                        std::int64_t epoch) {
  Impl* impl = impl_.get();
  return impl->run([impl, name = std::move(name), holder = std::move(holder), epoch]() mutable {
    return impl->leases.release(std::move(name), std::move(holder), epoch);
  });
}

void RedisStore::share_log(const LogEntry& entry) { impl_->log_share.share(entry); }

bool RedisStore::watch_log(LogListener listener) {
  impl_->log_share.watch(std::move(listener));
  return true;
}

asio::awaitable<Result<std::size_t>> RedisStore::presence(std::string group, std::string member,
                                                          std::chrono::milliseconds ttl) {
  Impl* impl = impl_.get();
  return impl->run([impl, group = std::move(group), member = std::move(member), ttl]() mutable {
    return impl->leases.presence(std::move(group), std::move(member), ttl);
  });
}

asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> RedisStore::rate_take(
    std::string key, std::size_t limit, std::chrono::milliseconds window) {
  Impl* impl = impl_.get();
  return impl->run([impl, key = std::move(key), limit, window]() mutable {
    return impl->rates.take(std::move(key), limit, window);
  });
}

asio::awaitable<Result<void>> RedisStore::rate_hold(std::string key,
                                                    std::chrono::milliseconds duration) {
  Impl* impl = impl_.get();
  return impl->run([impl, key = std::move(key), duration]() mutable {
    return impl->rates.hold(std::move(key), duration);
  });
}

}  // namespace botgate::store
