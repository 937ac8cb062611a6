#pragma once
/// Durable state: dedup, inbox, outbox, token cache, gateway sessions, leases. Implementations:
/// store/sqlite_store (embedded default) and store/redis_store (with BOTGATE_WITH_REDIS).

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/core/gateway.hpp"
#include "botgate/core/log_entry.hpp"
#include "botgate/core/outgoing.hpp"
#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate {

namespace asio = boost::asio;
using SystemTime = std::chrono::system_clock::time_point;

struct InboxItem {
  std::int64_t id = 0;
  Event event;
  /// Failed attempts to handle it, as recorded by inbox_retry (0 for a new event).
  int attempts = 0;
  /// When the store accepted it (or took it back from the dead letters).
  SystemTime accepted_at{};
};

/// An event that its handler gave up on (inbox_dead_letter): kept, with why, until it is taken
/// back into the inbox (dead_letter_retry) or discarded (dead_letter_discard).
struct DeadLetter {
  std::int64_t id = 0;  ///< its own id, never reused; not the inbox id it had
  Event event;          ///< with its reply credential, so that a retry can still answer
  int attempts = 0;     ///< attempts made, the last one included
  std::string reason;
  SystemTime accepted_at{};
  SystemTime dead_at{};
};

/// An inbox item handled: it leaves the inbox and its replies enter the outbox.
struct InboxCompletion {
  std::int64_t inbox_id = 0;
  std::vector<OutgoingMessage> replies = {};
  /// The event's handler will answer it later through the API (a forward service's 202): the
  /// event, with its reply credential, is kept as a reply reference under `event_id`.
  bool keep_reply_ref = false;
  std::string event_id = {};
};

struct OutboxItem {
  std::int64_t id = 0;
  OutgoingMessage message;
  int attempts = 0;
  /// A streamed message's (OutgoingMessage::stream) text, end and progress as last stored
  /// (outbox_stream_text, outbox_stream_progress); empty for a stream nothing was stored for yet.
  StreamRecord stream = {};
};

enum class OutboxState { queued, sent, failed };

/// One part of a message (Sender::split) as it stands.
struct OutboxPart {
  std::int64_t id = 0;
  OutboxState state = OutboxState::queued;
  std::string platform_message_id;  ///< once sent
  bool operator==(const OutboxPart&) const = default;
};

/// A message as it stands (Store::outbox_status), all of its parts together.
struct OutboxStatus {
  std::string bot;  ///< the bot that sends it
  /// failed when a part failed; else queued while a part is queued; sent once every part was.
  OutboxState state = OutboxState::queued;
  /// The attempts and last error of the part that decides `state`: the first part that failed,
  /// else the first one queued, else the last one.
  int attempts = 0;
  std::string last_error;
  std::string platform_message_id;  ///< the first part's, once it was sent
  /// Where it goes, as it was queued: the chat, and the platform's reply context for it.
  std::string chat_id;
  ChatType chat_type = ChatType::private_chat;
  std::string reply_context;
  /// Set when the message is a recall.
  std::optional<Recall> recall;
  /// Set when the message is streamed: whether it ended, as last stored.
  std::optional<StreamEnd> stream;
  /// Every part in queue order, the first included (one for a message queued whole).
  std::vector<OutboxPart> parts;
};

/// What outbox_push_message did.
struct OutboxPushed {
  std::int64_t id = 0;  ///< the message's id: the id of its first part
  bool queued = true;   ///< false: its client key was known; nothing was queued
};

/// How much of a bot's work waits in the store.
struct QueueDepth {
  std::int64_t inbox = 0;   // accepted events not yet handled
  std::int64_t outbox = 0;  // messages queued and not yet sent or failed
  std::int64_t dead_letters = 0;  // events given up on, kept for a retry
};

/// One kind of a store's own upkeep (SQLite: its WAL checkpoints, the steps of its dedup merges
/// and purges), counted since the store opened. While it runs, the store's writes wait, and
/// with them every callback of the moment: what a latency tail is made of.
struct StoreUpkeep {
  std::string kind;
  std::uint64_t runs = 0;
  std::chrono::nanoseconds total{};
  std::chrono::nanoseconds longest{};
};

struct CachedToken {
  std::string value;
  SystemTime expires_at{};
};

/// A lease granted by Store::lease_acquire: its holder may do what the lease names (run a
/// gateway shard, fetch a token) until it expires or is released.
struct Lease {
  /// The fencing epoch: grows with each new holder of the lease's name, and is never given again
  /// for that name by this store's data (a holder that renews keeps its epoch).
  std::int64_t epoch = 0;
};

/// Which events a reader of the event log wants: each field that is not empty must equal the
/// event's (exact match).
struct EventFilter {
  std::string bot;
  std::string platform;
  std::string chat;  ///< the chat's id (Event::chat.id)

  bool matches(std::string_view event_bot, std::string_view event_platform,
               std::string_view event_chat) const noexcept {
    return (bot.empty() || bot == event_bot) && (platform.empty() || platform == event_platform) &&
           (chat.empty() || chat == event_chat);
  }
};

/// One entry of the event log (the event stream's source): an accepted event under its cursor.
struct LoggedEvent {
  std::int64_t cursor = 0;
  std::string bot;
  std::string platform;
  std::string chat;  ///< the chat's id
  /// The Event JSON (core/event_json's to_json): never the reply credential.
  std::string json;
};

/// Told each event the store logged, once its accept is committed (Store::watch_events).
using EventLogListener = std::function<void(LoggedEvent)>;

/// Told the name of a bot whose inbox or outbox may have work for this store object that its
/// own calls did not queue (Store::watch_work).
using WorkListener = std::function<void(const std::string& bot)>;

/// Told each message-log entry another instance published (Store::watch_log).
using LogListener = std::function<void(LogEntry)>;

/// What a mapped id (Store::id_numbers) stands for. Numbers are per bot and kind: a group and a
/// user may have the same platform id (QQ) and still get two numbers.
enum class IdKind { user = 1, group = 2, message = 3 };

/// A platform id to map to a number.
struct IdKey {
  IdKind kind = IdKind::user;
  std::string platform_id;
  /// Kept beside the mapping when not empty (replacing what was kept): for a user, the bot's
  /// private chat with them (a Feishu or Discord private chat has an id of its own); for a
  /// message, botgate's id of its event.
  std::string context = {};
};

/// A number's platform id, and what was kept beside it.
struct IdEntry {
  std::string platform_id;
  std::string context;
};

/// The largest number a mapped id may have: OneBot frameworks type ids as integers, and the
/// JavaScript ones (Koishi, Yunzai) read them as doubles, exact up to 2^53 - 1.
inline constexpr std::int64_t kMaxMappedId = (std::int64_t{1} << 53) - 1;

/// How long a reply reference (InboxCompletion::keep_reply_ref) is kept: a service that said it
/// answers later has this long. The platforms' own limits are shorter for some replies (a QQ
/// passive reply within 5 minutes, a WeCom response_url within an hour): those fail at the
/// platform, with its error, not here.
inline constexpr std::chrono::hours kReplyRefTtl{24};

/// All methods are safe to call from any strand; implementations never block the caller's
/// thread (SQLite runs on its own thread).
class Store {
 public:
  virtual ~Store() = default;

  /// Dedup and durable inbox in one transaction. Returns true when the event is new (and now
  /// in the inbox), false when any of `dedup_keys` was seen within `ttl` (nothing stored).
  /// A new event also enters the event log in the same transaction (see events_after): an event
  /// is in the log if and only if it was accepted, and a duplicate never is.
  virtual asio::awaitable<Result<bool>> accept(Event event, std::vector<std::string> dedup_keys,
                                               std::chrono::seconds ttl) = 0;
  /// Whether accept_handled is offered. The default: no (the Runtime then accepts every event
  /// into the inbox).
  virtual bool accepts_handled() const noexcept { return false; }
  /// Whether other instances may use this store at the same time (Redis): what one process
  /// keeps in memory about the inbox (core/inbox_path_guard) does not see their accepts.
  virtual bool shared() const noexcept { return false; }
  /// The upkeep done so far, by kind (/metrics); none for a store that does none of its own.
  /// Safe from any thread.
  virtual std::vector<StoreUpkeep> upkeep() const { return {}; }
  /// For an event handled before its accept commits (a bot whose handlers answer at once and
  /// have no other effect, such as rules and echo): dedup, the event log and `replies` queued,
  /// in one transaction, and the event never enters the inbox. Returns true when the event is
  /// new (logged as accept logs it, its replies takeable by outbox_take in their order, as an
  /// inbox_complete queues them, from the moment it returns), false when any of `dedup_keys`
  /// was seen within `ttl` (nothing stored, the replies dropped). Either all of it is stored or
  /// nothing. Where accepts_handled() is false: errc::invalid_argument.
  virtual asio::awaitable<Result<bool>> accept_handled(Event event,
                                                       std::vector<std::string> dedup_keys,
                                                       std::chrono::seconds ttl,
                                                       std::vector<OutgoingMessage> replies) {
    (void)event;
    (void)dedup_keys;
    (void)ttl;
    (void)replies;
    co_return Error{errc::invalid_argument, "this store does not accept handled events"};
  }
  /// Events of `bot` accepted but not yet completed, oldest first, taken or not (a view).
  virtual asio::awaitable<Result<std::vector<InboxItem>>> inbox_pending(std::string bot,
                                                                        std::size_t limit) = 0;
  /// Takes up to `limit` of the events of `bot` that were accepted and are not taken yet,
  /// oldest first. A taken event is not given out again by this store object until it is
  /// completed; a new store object on the same data (after a restart or a crash), or another
  /// store object on the same data (another instance, on Redis) once this one's lease on the
  /// event's chat lapsed, gives out again every event not completed: an accepted event is
  /// handled at least once. With several store objects on one data (several instances), each
  /// gives out only the events of the chats it serves now, so that one chat's events are
  /// handled by one instance at a time, in order.
  virtual asio::awaitable<Result<std::vector<InboxItem>>> inbox_take(std::string bot,
                                                                     std::size_t limit) = 0;
  /// Removes the inbox items and queues their replies, all in one transaction: either every
  /// item leaves the inbox with its replies queued (in the order of `done`, each item's in
  /// their order), or nothing changes. The replies are then takeable by outbox_take.
  /// Several store objects on one data (Redis): an item another object completed already, or
  /// whose chat another object serves now (this one's lease lapsed), is left as it is and its
  /// replies are not queued (that object handles it and queues them): not an error.
  virtual asio::awaitable<Result<void>> inbox_complete(std::vector<InboxCompletion> done) = 0;
  /// One item.
  asio::awaitable<Result<void>> inbox_complete(std::int64_t inbox_id,
                                               std::vector<OutgoingMessage> replies) {
    std::vector<InboxCompletion> one;
    one.push_back(InboxCompletion{inbox_id, std::move(replies)});
    co_return co_await inbox_complete(std::move(one));
  }

  /// Records a failed attempt to handle the taken inbox item `inbox_id`: its attempt count goes
  /// up by one and `error` is kept. The item stays in the inbox and stays taken (its taker tries
  /// it again); a new store object gives it out again with the count, so that a limit on
  /// attempts holds across restarts. An id not in the inbox is not an error (nothing changes).
  virtual asio::awaitable<Result<void>> inbox_retry(std::int64_t inbox_id, std::string error) = 0;
  /// Moves inbox item `inbox_id` out of the inbox into the dead letters, in one transaction,
  /// with its attempt count plus this last attempt and `reason`; returns the dead letter's id.
  /// An id not in the inbox is errc::not_found; so is, with several store objects on one data,
  /// an item whose chat another object serves now (that one handles it).
  virtual asio::awaitable<Result<std::int64_t>> inbox_dead_letter(std::int64_t inbox_id,
                                                                  std::string reason) = 0;
  /// Dead letters, newest first: of `bot` (every bot when empty), with ids below `before` (all
  /// when 0), at most `limit`.
  virtual asio::awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string bot,
                                                                        std::int64_t before,
                                                                        std::size_t limit) = 0;
  /// Moves dead letter `id` back into the inbox, in one transaction, as an event accepted now
  /// (after every event in the inbox, with no attempts; dedup is not consulted). Returns its
  /// bot's name, or nullopt when there is no such dead letter (a second retry of the same one
  /// finds none: it is handled once more, not twice).
  virtual asio::awaitable<Result<std::optional<std::string>>> dead_letter_retry(
      std::int64_t id) = 0;
  /// Deletes dead letter `id`; false when there is none.
  virtual asio::awaitable<Result<bool>> dead_letter_discard(std::int64_t id) = 0;

  /// The event log: every accepted event under its cursor, a positive integer that grows
  /// strictly with each accept and is never given again by this store's data, also after a
  /// restart or after the log's old entries were deleted (cursors may skip numbers). Returns the
  /// logged events with a cursor above `after` that `filter` matches, in cursor order, at most
  /// `limit`. Fewer than `limit` means none more was logged when the store read it.
  /// Retention: an entry is kept at least as long as the store's retention (the SQLite store:
  /// SqliteStoreOptions::event_retention, `[api] event_retention_s`) after its accept, then
  /// deleted; a reader that comes back with a cursor misses nothing still kept.
  virtual asio::awaitable<Result<std::vector<LoggedEvent>>> events_after(std::int64_t after,
                                                                         EventFilter filter,
                                                                         std::size_t limit) = 0;
  /// From now on, `listener` is told each event logged, once its accept is committed, one call
  /// at a time and in cursor order (on the store's own thread: it must not block, and must not
  /// call the store). A store only its process writes tells before the accept's caller resumes;
  /// one that several instances share (Redis) tells of every instance's accepts, a few
  /// milliseconds after each. Replaces the listener before; an empty one stops the calls (after it
  /// returns, the old listener is not called again). Returns the last cursor given before the
  /// new listener takes over (0: none yet): the listener is told every event after it.
  virtual std::int64_t watch_events(EventLogListener listener) = 0;

  /// From now on, `listener` is told of work for a bot that this store object did not queue
  /// itself but may now give out: another instance accepted an event or queued a message, this
  /// object took over chats another served, or (about once a second) a safety poll, so that a
  /// wake-up lost costs a second. Called on the store's own thread: it must not block, and must
  /// not call the store. Replaces the listener before; an empty one stops the calls (after it
  /// returns, the old listener is not called again). A store that only its own process writes
  /// has nothing to tell: the default does nothing.
  virtual void watch_work(WorkListener listener) { (void)listener; }

  /// The message log (core/message_log) of instances that share this store: each one's console
  /// shows every instance's events and replies. A store that only its own process uses has
  /// nobody to share with: watch_log returns false, and share_log does nothing.
  /// Gives `entry` (as it now stands; a later one with its id replaces it) to the other
  /// instances, without waiting: best effort, since the log is not durable (the inbox and
  /// outbox are). Entries given one after another reach the others in that order.
  virtual void share_log(const LogEntry& entry) { (void)entry; }
  /// From now on, `listener` is told the entries the other instances share, in the order they
  /// shared them, starting with the most recent ones kept (a new instance's console is not
  /// empty); never this store object's own. Called on the store's own thread: it must not
  /// block, and must not call the store. Replaces the listener before; an empty one stops the
  /// calls. Returns whether the store is shared (and so whether share_log has takers).
  virtual bool watch_log(LogListener listener) {
    (void)listener;
    return false;
  }

  /// The event kept by a completion with keep_reply_ref, by its event id, with its reply
  /// credential, for kReplyRefTtl after its completion; nullopt when there is none (never kept,
  /// or expired). Several replies may be made to one reference.
  virtual asio::awaitable<Result<std::optional<Event>>> reply_ref(std::string event_id) = 0;

  /// Queues a message; returns its outbox id. Ids grow in queue order and are never reused.
  virtual asio::awaitable<Result<std::int64_t>> outbox_push(OutgoingMessage message) = 0;
  /// Queues the parts of one message (Sender::split), all of them in their order or none (one
  /// transaction), and returns the first part's id, which is the message's. `parts` is not
  /// empty and all of one bot (errc::invalid_argument otherwise).
  /// With a `client_key` (the API's idempotency_key; empty: none), the key is kept with the
  /// message, and a later call with the same key for the same bot queues nothing and returns
  /// the first call's id (OutboxPushed::queued false):
  /// - for as long as the message's first part answers outbox_status: while it is queued, and
  ///   once sent or failed until the store deletes finished messages (the SQLite store: after
  ///   SqliteStoreOptions::finished_retention, seven days);
  /// - across restarts, like the message itself;
  /// - also when both calls come at once: exactly one of them queues the message.
  /// Keys are per bot: the same key for two bots queues two messages. A message queued without
  /// a key (outbox_push, inbox_complete's replies) is never found by one.
  virtual asio::awaitable<Result<OutboxPushed>> outbox_push_message(
      std::vector<OutgoingMessage> parts, std::string client_key) = 0;
  /// Takes queued messages of `bot` to send, like inbox_take for the inbox. Guarantees:
  /// - It gives queued messages whose next attempt is due at `now`, in queue (id) order, at
  ///   most `limit` of them.
  /// - A message given is taken: this store object does not give it again. outbox_sent and
  ///   outbox_failed end it; outbox_retry records the attempt and its next attempt time but the
  ///   message stays taken (its taker keeps it and tries it again itself; the stored time counts
  ///   after a restart). A new store object on the same data (a restart, a crash), or another
  ///   store object (another instance) once this one's lease on the message's chat lapsed,
  ///   gives again every message not yet sent or failed; a retry recorded by an object that
  ///   lost the chat changes nothing.
  /// - Several store objects on one data: each gives only messages of the chats it serves now.
  /// - Per conversation order: the messages of one lane (OutgoingMessage::lane()) are given in
  ///   queue order, and a message is never given while an earlier message of its lane is queued
  ///   and not given yet (after a restart, an earlier message not due yet holds back its lane's
  ///   later ones).
  /// - At most `lane_limit` messages of one lane are out (taken, and neither sent nor failed)
  ///   at once: one chat's backlog cannot fill the taker while other chats wait.
  virtual asio::awaitable<Result<std::vector<OutboxItem>>> outbox_take(std::string bot,
                                                                       SystemTime now,
                                                                       std::size_t limit,
                                                                       std::size_t lane_limit) = 0;
  /// The earliest next attempt among the queued messages of `bot` that are not taken and next
  /// in their lane (no earlier message of the lane is queued and not taken), if there is one:
  /// when outbox_take may give more without anything else happening (a restart left retries
  /// that come due later). A time already past means a message is due but held back by the
  /// limits: room made by a send that ends lets it go. Taken messages never count, nor those
  /// behind another message of their lane that is not taken (they cannot go before it).
  virtual asio::awaitable<Result<std::optional<SystemTime>>> outbox_next_due(std::string bot) = 0;
  /// The three outcomes of a send attempt; each counts one attempt. sent and failed end the
  /// message (it is no longer queued); retry keeps it queued, and taken if it was, with
  /// `next_attempt` stored for a later store object. Implementations may write updates that
  /// arrive close together in one transaction (the SQLite store does).
  virtual asio::awaitable<Result<void>> outbox_sent(std::int64_t id,
                                                    std::string platform_message_id) = 0;
  virtual asio::awaitable<Result<void>> outbox_retry(std::int64_t id, SystemTime next_attempt,
                                                     std::string error) = 0;
  virtual asio::awaitable<Result<void>> outbox_failed(std::int64_t id, std::string error) = 0;
  /// Keeps the text of streamed message `id` (OutgoingMessage::stream) as it stands, and whether
  /// it ended, replacing what was kept: outbox_take gives them with the message (OutboxItem::
  /// stream), also after a restart. Does not change the message's state or its place in its
  /// lane. An id not in the outbox, or not queued any more, is not an error (nothing changes).
  virtual asio::awaitable<Result<void>> outbox_stream_text(std::int64_t id, std::string text,
                                                           StreamEnd end) = 0;
  /// Keeps the sender's progress on streamed message `id` (StreamRecord::progress), replacing
  /// what was kept; otherwise as outbox_stream_text.
  virtual asio::awaitable<Result<void>> outbox_stream_progress(std::int64_t id,
                                                               std::string progress) = 0;
  /// The message whose first part has id `id` (the id outbox_push_message or outbox_push gave),
  /// with all of its parts; the id of a later part answers for that part alone. nullopt for an
  /// id the outbox does not have (never given, or deleted after it ended).
  virtual asio::awaitable<Result<std::optional<OutboxStatus>>> outbox_status(std::int64_t id) = 0;
  /// For the status views.
  virtual asio::awaitable<Result<QueueDepth>> queue_depth(std::string bot) = 0;

  virtual asio::awaitable<Result<std::optional<CachedToken>>> token_get(std::string key) = 0;
  virtual asio::awaitable<Result<void>> token_put(std::string key, CachedToken token) = 0;
  virtual asio::awaitable<Result<void>> token_erase(std::string key) = 0;

  /// The numbers of platform ids of `bot` (OneBot v11 ids are integers), one per key, in their
  /// order, in one transaction: an id mapped before gets the number it got then (also after a
  /// restart), a new one the next free number (from 1, at most kMaxMappedId). Two ids of one
  /// bot and kind never share a number. A key's non-empty context replaces the kept one.
  virtual asio::awaitable<Result<std::vector<std::int64_t>>> id_numbers(
      std::string bot, std::vector<IdKey> keys) = 0;
  /// The platform id that `number` stands for, for `bot` and `kind`; nullopt when it stands for
  /// none (never given, or given for another bot or kind).
  virtual asio::awaitable<Result<std::optional<IdEntry>>> id_entry(std::string bot, IdKind kind,
                                                                   std::int64_t number) = 0;

  /// A gateway's resumable session (Discord, QQ), so that a restarted process resumes and
  /// receives what happened while it was down. `key` names the bot and shard.
  virtual asio::awaitable<Result<std::optional<GatewaySession>>> session_get(std::string key) = 0;
  /// Replaces the stored session; an empty `session_id` clears it.
  virtual asio::awaitable<Result<void>> session_put(std::string key, GatewaySession session) = 0;

  /// Leases: a name held by one holder at a time among every process on this store's data (a
  /// gateway shard that only one instance may connect, a token only one may fetch). A holder
  /// is a string unique to its process (and to its user of the lease within it).
  /// Takes lease `name` for `holder` for `ttl` and returns it, when it is free, expired, or
  /// already `holder`'s (then its expiry moves to now + ttl and its epoch stays). A new holder
  /// gets an epoch above every epoch given for `name` before. nullopt: another holder has it
  /// (try again later; it is free at the latest `ttl` after that holder's last renewal).
  virtual asio::awaitable<Result<std::optional<Lease>>> lease_acquire(
      std::string name, std::string holder, std::chrono::milliseconds ttl) = 0;
  /// Moves the expiry of lease `name` to now + ttl, when `holder` still holds it under `epoch`
  /// (and it has not expired). false: the lease is lost (expired, perhaps taken by another):
  /// the holder must stop using it at once, and may only acquire it again. An error is no
  /// answer: the lease may still be held, and is lost once its last expiry passes.
  virtual asio::awaitable<Result<bool>> lease_renew(std::string name, std::string holder,
                                                    std::int64_t epoch,
                                                    std::chrono::milliseconds ttl) = 0;
  /// Frees lease `name` at once when `holder` holds it under `epoch` (so that another takes it
  /// without waiting for the expiry); otherwise nothing changes.
  virtual asio::awaitable<Result<void>> lease_release(std::string name, std::string holder,
                                                      std::int64_t epoch) = 0;

  /// Presence: the processes on this store's data that take part in `group` (the instances
  /// that run one bot's gateway), so that they can share its work out evenly. Says that
  /// `member` takes part until `ttl` from now (0: no longer) and returns how many members take
  /// part now, `member` included when `ttl` > 0. A member not renewed within its ttl no longer
  /// counts (counted by the store's one clock, as leases are).
  virtual asio::awaitable<Result<std::size_t>> presence(std::string group, std::string member,
                                                        std::chrono::milliseconds ttl) = 0;

  /// Rate limits that every process on this store's data counts together (a platform's limit
  /// per webhook or per bot, which several instances would otherwise each use in full). `key`
  /// names what the platform counts; every caller of one key passes the same `limit` and
  /// `window`.
  /// Takes one use of `key` and returns nullopt when fewer than `limit` (at least 1) uses of it
  /// were given in the last `window` and it is not held (rate_hold); otherwise takes nothing
  /// and returns how long until asking again may succeed (at least 1 ms). Guarantee: in any span
  /// of `window`, at most `limit` uses of `key` are given among all the store objects on the
  /// data, counted by the store's one clock (Redis: the server's, so the instances' clocks
  /// never compare). A use given counts whether or not the caller then uses it. Uses are not
  /// kept across a restart of a store that one process uses (SQLite): that process starts
  /// counting again. An error is no answer: the caller must not go ahead as if given a use.
  virtual asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> rate_take(
      std::string key, std::size_t limit, std::chrono::milliseconds window) = 0;
  /// No use of `key` is given (rate_take) until `duration` from now passes, to any store object
  /// on the data: a platform asked for a pause (a Discord global 429, a WeCom 45009). A hold
  /// that ends later stays as it is.
  virtual asio::awaitable<Result<void>> rate_hold(std::string key,
                                                  std::chrono::milliseconds duration) = 0;
};

}  // namespace botgate
