#pragma once
/// The path of one message (DESIGN.md section 1), the same for every platform:
/// callback -> verify/parse -> dedup + durable inbox -> ack; inbox worker -> handler chain ->
/// durable outbox; outbox worker -> Sender (token, send, retry with backoff).

#include "botgate/core/backoff.hpp"
#include "botgate/core/handler_chain.hpp"
#include "botgate/core/event_feed.hpp"
#include "botgate/core/wake_rounds.hpp"
#include "botgate/core/message_log.hpp"
#include "botgate/core/platform.hpp"
#include "botgate/core/store.hpp"
#include "botgate/core/stream_hub.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace botgate {

struct RuntimeOptions {
  /// How long a platform event id or message id is remembered for dedup. Feishu redelivers for
  /// up to ~7.1 hours (15 s, 5 min, 1 h, 6 h).
  std::chrono::seconds dedup_ttl{std::chrono::hours(8)};
  BackoffPolicy send_backoff{};
  /// A message still failing with retryable errors (rate limits aside) after this many
  /// attempts is marked failed: with the default backoff, about four hours.
  int max_send_attempts = 60;
  /// How many messages of one bot are in flight at once. Each goes to a different chat: the
  /// messages of one chat are sent one after another, in queue order.
  std::size_t send_concurrency = 16;
  /// How many recent events and replies the message log keeps.
  std::size_t message_log_capacity = 2000;
  /// How many of a bot's queued messages the outbox worker takes from the store and holds in
  /// memory: of one chat (Store::outbox_take's lane_limit), so that a chat with a long backlog
  /// takes no room from the others, and in all. The rest wait in the store and are taken as
  /// room frees up. A Discord flood (20,000 messages, 50 chats) was slower at 32 and 1,024 (the
  /// store then read thousands of replies back); a full 8,192 is about 3 MiB.
  std::size_t outbox_lane_depth = 256;
  std::size_t outbox_held = 8192;
  /// How many chats of one bot have their events handled at once (BotParts may say otherwise
  /// for a bot). A chat's events are handled one after another, in order.
  std::size_t inbox_concurrency = 32;
  /// A bot whose handlers are all immediate (Handler::immediate_for) has its events handled
  /// before their accept commits, on a store that offers it (Store::accept_handled): one
  /// transaction instead of an inbox row written, taken and deleted. Off: every event goes
  /// through the inbox (tests of the inbox path with such handlers).
  bool handle_at_accept = true;
  /// How many of a bot's events the inbox worker holds at once, from their take until their
  /// completion is stored.
  std::size_t inbox_held = 1024;
  /// How many of the newest logged events the event stream keeps in memory for its clients
  /// (EventFeed); a client further behind reads the store. ~1 KiB each.
  std::size_t event_feed_capacity = 4096;
  /// How event-stream clients are woken for new events (WakeRounds).
  WakeRoundsOptions stream_rounds = {};
  /// A streamed reply whose producer changes nothing for this long is finished with what it has,
  /// marked cut short (`[api] stream_stall_s`).
  std::chrono::milliseconds stream_stall{std::chrono::seconds(60)};
  /// How often a growing stream's text is written to the store (and at its end), from where a
  /// restart finishes it.
  std::chrono::milliseconds stream_store_interval{std::chrono::seconds(1)};
};

/// What the status views and readiness read about one bot. Counters only grow.
struct BotStatus {
  std::string name;
  std::string platform;
  bool ready = false;          // the sender is prepared (token fetched)
  std::string last_error;      // why it is not ready, or the last send failure
  bool has_webhook = false;    // it has a public callback URL, /webhook/<name>
  std::size_t inbox_concurrency = 0;  // how many of its chats are handled at once
  std::uint64_t events_in = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t send_failures = 0;
  /// Messages that may or may not have reached the platform (errc::delivery_uncertain): the
  /// request was written, then the connection broke or the deadline passed, and the platform
  /// has no idempotency key to send it again safely. Marked failed, never sent again.
  std::uint64_t delivery_uncertain = 0;
  std::uint64_t callbacks_rejected = 0;  // forged, stale or malformed callbacks
  std::uint64_t handling_retries = 0;    // handler runs that asked to be tried again
  std::uint64_t dead_lettered = 0;       // events given up on (kept as dead letters)
  /// How often the platform made a message wait (429 and the like), and for how long in all.
  std::uint64_t rate_limit_waits = 0;
  std::uint64_t rate_limited_ms = 0;
  std::optional<SystemTime> last_event_at = {};     // the last accepted event
  std::optional<SystemTime> last_callback_at = {};  // the last callback that passed verification
  std::optional<SystemTime> token_expires_at = {};  // the cached access token's expiry
  /// One per gateway connection (shard); empty for callback-only bots.
  std::vector<EventSourceStatus> connections = {};
};

/// Thread safety: `on_webhook`, `on_event` and `send` may be called from any strand. Each bot's
/// workers run on the bot's own strand.
class Runtime final : public ReplyStreams {
 public:
  Runtime(asio::io_context& io, Store& store, const HandlerChain& chain,
          RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// A new strand for a bot: build its platform parts on it, then pass it to add_bot().
  asio::any_io_executor make_bot_strand();
  /// Adds a bot before start(). `name` is its [[bot]] name, the {name} of /webhook/{name}.
  void add_bot(std::string name, std::string platform, asio::any_io_executor strand,
               BotParts parts);
  /// Readiness of one bot's sender (for `botgate check --online`): prepares it now.
  asio::awaitable<Result<void>> prepare_bot(const std::string& name);
  /// Dead letters, newest first (Store::dead_letters); `bot` empty: every bot's.
  asio::awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string bot,
                                                                std::int64_t before,
                                                                std::size_t limit);
  /// Puts dead letter `id` back into its bot's inbox and wakes the bot; false when there is no
  /// such dead letter. (A bot no longer configured handles it when it is configured again, as
  /// any event left in its inbox.)
  asio::awaitable<Result<bool>> retry_dead_letter(std::int64_t id);
  /// Deletes dead letter `id`; false when there is none.
  asio::awaitable<Result<bool>> discard_dead_letter(std::int64_t id);
  /// The event a handler said it answers later (a forward service's 202), by its event id, to
  /// address a reply made through the API; nullopt when none is kept (see kReplyRefTtl).
  asio::awaitable<Result<std::optional<Event>>> reply_target(std::string event_id);
  /// The status of one queued message.
  asio::awaitable<Result<std::optional<OutboxStatus>>> message_status(std::int64_t id);
  /// What waits in the store for bot `name`.
  asio::awaitable<Result<QueueDepth>> queue_depth(std::string name);
  /// Recent events and replies with their outcomes.
  MessageLog& message_log() noexcept { return log_; }
  /// The store's own upkeep so far (Store::upkeep), for /metrics.
  std::vector<StoreUpkeep> store_upkeep() const { return store_.upkeep(); }
  /// The event stream's live side: told by the store of each event it logs.
  EventFeed& event_feed() noexcept { return feed_; }
  /// The rounds in which event-stream clients are woken for what the feed has for them.
  WakeRounds& wake_rounds() noexcept { return wake_rounds_; }
  /// The event log from the store (Store::events_after), for a stream client behind the feed.
  asio::awaitable<Result<std::vector<LoggedEvent>>> events_after(std::int64_t after,
                                                                 EventFilter filter,
                                                                 std::size_t limit);
  /// The platform of bot `name`; nullopt for an unknown bot.
  std::optional<std::string> bot_platform(const std::string& name) const;
  /// Prepares every sender and starts the workers; what the inbox and outbox held from a
  /// previous run is processed first.
  void start();
  /// Stops the workers after the item in hand; nothing accepted is lost (it stays in the store).
  void stop();
  /// True once every worker has returned after stop().
  bool stopped() const;

  /// Where a callback came in: the public /webhook/<name>, or the API (the console's sandbox).
  enum class WebhookRoute { public_url, api };
  /// Handles a platform callback for bot `bot`: the acknowledgement is returned only after the
  /// events are durable. 404 for an unknown bot, one without a callback, or one whose callback
  /// is not public when it came in at the public URL.
  /// When the answer carries a reply (WebhookOutcome::reply_window), its after_write must be
  /// told whether it was written: the reply counts as sent only then.
  asio::awaitable<HttpAnswer> on_webhook(std::string bot, const HttpRequest& request,
                                         WebhookRoute route = WebhookRoute::public_url);
  /// Accepts an event from a gateway or the sandbox. Returns false for a duplicate.
  asio::awaitable<Result<bool>> on_event(Event event);
  /// Queues a proactive message (the parts Sender::split makes of it, all or none) and returns
  /// its id, the first part's. The parts' idempotency keys come from the message's own (a
  /// random one when it has none). With a `client_key`, a message of the same bot already
  /// queued with that key is not queued again: its id is returned (Store::outbox_push_message).
  /// errc::not_found for an unknown bot.
  asio::awaitable<Result<std::int64_t>> send(OutgoingMessage message, std::string client_key = {});
  /// Opens a streamed reply (core/stream.hpp): queues `message` (one Text or Markdown segment
  /// with the text it starts with, or none) as a stream in its chat's lane and returns its id,
  /// which grow_stream() takes. The bot's sender renders it as it grows once its turn in the
  /// chat comes. `client_key` as for send(): a second open with it returns the first's id.
  asio::awaitable<Result<std::int64_t>> open_stream(OutgoingMessage message,
                                                    std::string client_key = {}) override;
  /// Appends to or replaces the text of stream `id`, and finishes it with `change.finish`.
  /// Errors: not_found, no such message; conflict, not a stream, or one that ended (finished,
  /// cut short after a stall or by a restart); invalid_argument, the text would be too long.
  asio::awaitable<Result<StreamSnapshot>> grow_stream(std::int64_t id,
                                                      StreamChange change) override;
  /// Ends open stream `id` now, cut short, `why` (written to the store first, as a stall is);
  /// the sender shows it ended at once. A stream that ended already, or is not live here, is
  /// left as it is.
  asio::awaitable<Result<void>> cut_stream(std::int64_t id, std::string why) override;
  /// Queues a recall of message `id` (every part of it) in its chat, behind what is queued
  /// there, and returns the recall's own id (whose status reads like a message's). Errors:
  /// not_found, no such message; platform_rejected, its bot cannot take messages back
  /// (Sender::can_recall); invalid_argument, it is a recall itself, or it failed with no part
  /// sent.
  asio::awaitable<Result<std::int64_t>> recall_message(std::int64_t id);
  /// Queues a recall of the platform's message `platform_message_id` in the chat `where`
  /// addresses (bot, chat_id, chat_type, reply_context); errors as recall_message.
  asio::awaitable<Result<std::int64_t>> recall_platform_message(OutgoingMessage where,
                                                                std::string platform_message_id);

  /// True when every bot is ready.
  bool ready() const;
  std::vector<BotStatus> status() const;
  bool has_bot(const std::string& name) const;

 private:
  struct Bot;
  /// Takes the bot's events from the store into per-chat lanes and starts lane runners.
  asio::awaitable<void> inbox_worker(Bot& bot);
  /// Runs waiting lanes one after another, each until it runs dry (up to the bot's
  /// concurrency of these at once).
  asio::awaitable<void> run_lanes(Bot& bot);
  /// Runs the handlers on one event and leaves its replies for completion; while a handler
  /// asks for a retry, records the attempt and runs them again after its wait; keeps the event
  /// as a dead letter when a handler gives up.
  asio::awaitable<void> handle_event(Bot& bot, InboxItem item);
  /// Waits `wait` on the bot's strand; false when the runtime stops meanwhile (or had).
  asio::awaitable<bool> sleep_unless_stopping(Bot& bot, std::chrono::milliseconds wait);
  /// Moves a taken event into the dead letters (tried until it works or the runtime stops).
  asio::awaitable<void> dead_letter(Bot& bot, const InboxItem& item, const std::string& reason);
  /// Completes the handled events in the store, those handled close together in one
  /// transaction, in the order they were handled; a failed completion is tried again.
  asio::awaitable<void> inbox_completer(Bot& bot);
  /// Takes the bot's due messages from the store into per-chat lanes and starts the sends (on
  /// the strand).
  asio::awaitable<void> outbox_worker(Bot& bot);
  /// Asks the store when its next message not taken comes due: `store_due` is then that time
  /// (at most a minute ahead), or empty when none is due later; false when the store failed.
  asio::awaitable<bool> ask_store_due(Bot& bot, SystemTime now,
                                      std::optional<std::chrono::steady_clock::time_point>& store_due);
  /// Sends the first message of one lane (a chat) and records the outcome in the lane; a sent
  /// one's outcome is written in the background (record_sent).
  asio::awaitable<void> send_in_lane(Bot& bot, std::string lane_key);
  /// Completes the handled inbox items in `done` and queues their replies (one transaction);
  /// false when the store failed (both vectors are left as they were).
  asio::awaitable<bool> complete(Bot& bot, std::vector<InboxCompletion>& done,
                                 std::vector<LogEntry>& queued);
  /// What became of one attempt to send a message.
  struct Attempt {
    enum Outcome {
      done,   // failed for good, and recorded
      sent,   // sent with platform_id; not recorded yet (record_sent writes it)
      retry,  // to be tried again after retry_in, recorded
    };
    Outcome outcome = done;
    std::chrono::milliseconds retry_in{};
    std::string platform_id = {};
  };
  /// Sends one message and stores the outcome, except a success's (see Attempt::sent).
  asio::awaitable<Attempt> deliver(Bot& bot, const OutboxItem& item);
  /// Renders a streamed message through the bot's sender (Sender::send_stream); one the store
  /// gave after a restart is live again first, cut short if it had not ended.
  asio::awaitable<Result<SentMessage>> deliver_stream(Bot& bot, const OutboxItem& item);
  /// Carries out the recall `entry` (OutgoingMessage::recall) through the bot's sender.
  asio::awaitable<Result<SentMessage>> carry_out_recall(Bot& bot, const OutgoingMessage& entry);
  /// Queues the recall `entry` (one part, no client key) and wakes the bot's outbox.
  asio::awaitable<Result<std::int64_t>> queue_recall(Bot& bot, OutgoingMessage entry);
  /// Writes that message `id` was sent, then lets the outbox worker forget it.
  asio::awaitable<void> record_sent(Bot& bot, std::int64_t id, std::string platform_id);
  /// `must_queue`: the event goes through the inbox (its callback's answer waits for its reply).
  asio::awaitable<Result<bool>> accept(Bot& bot, Event event, bool must_queue = false);
  /// For a bot that handles_at_accept: the replies of `event`, from the chain run now; nullopt
  /// when the chain did not simply answer (it asked for a retry): then the event goes to the
  /// inbox like any other.
  asio::awaitable<std::optional<std::vector<OutgoingMessage>>> handle_at_accept(
      Bot& bot, const Event& event);
  Bot* find(const std::string& name) const;
  /// The replies of `event` as the platform takes them (Sender::split_replies), each with the
  /// idempotency key the outbox sends it with.
  static std::vector<OutgoingMessage> replies_for(Bot& bot, const Event& event,
                                                  std::vector<OutgoingMessage> replies);

  asio::io_context& io_;
  Store& store_;
  const HandlerChain& chain_;
  RuntimeOptions options_;
  MessageLog log_;
  EventFeed feed_;
  WakeRounds wake_rounds_;
  StreamHub streams_;
  std::map<std::string, std::unique_ptr<Bot>> bots_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> running_workers_{0};
};

/// A new random id for an event (32 hex digits).
std::string new_event_id();

}  // namespace botgate
