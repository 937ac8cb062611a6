#include "botgate/core/runtime.hpp"

#include "botgate/core/inbox_lanes.hpp"
#include "botgate/core/log_rate_limit.hpp"
#include "botgate/core/outbox_lanes.hpp"
#include "botgate/core/reply_waiters.hpp"
#include "botgate/core/send_decision.hpp"
#include "botgate/core/webhook_rejection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_set>

namespace botgate {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::system_clock;
/// Handled inbox items wait at most this long for others to share their store transaction.
constexpr std::chrono::milliseconds kCompleteWindow{2};
/// The inbox worker takes this many events at a time: under a backlog they are completed in one
/// transaction (every 2 ms), and the replies they queue touch each chat's place in the outbox's
/// lane index once per transaction, not once per 64 events (Discord flood, 64 -> 256: 2.6 ->
/// 1.8 SQLite pages written per event).
constexpr std::size_t kInboxBatch = 256;
/// The outbox worker reads due messages this many at a time (up to RuntimeOptions::outbox_held).
constexpr std::size_t kOutboxPage = 64;
/// How often the worker reads the queue again from its start, for messages it passed over
/// because they were not due then (retries left by a previous run).
constexpr std::chrono::seconds kFullScanEvery{1};
/// How long the inbox worker waits to learn whether a callback's answer carrying a reply was
/// written. A write of that small answer ends at once, unless the connection is gone; the
/// platforms that wait for such an answer give up after 3 s (Discord).
constexpr std::chrono::milliseconds kInlineWriteWait{3000};

SystemTime::rep now_ticks() { return Clock::now().time_since_epoch().count(); }

std::optional<SystemTime> from_ticks(SystemTime::rep ticks) {
  if (ticks == 0) return std::nullopt;
  return SystemTime(SystemTime::duration(ticks));
}

double unit_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

/// A wake-up flag for a worker: notify() from any thread, wait() on the worker's strand. A
/// notify before the wait is not lost.
class Signal {
 public:
  explicit Signal(asio::any_io_executor strand) : strand_(strand), timer_(strand) {}

  void notify() {
    asio::post(strand_, [this] {
      pending_ = true;
      timer_.cancel();
    });
  }

  /// Waits for a notify or until `deadline`. Must run on the strand.
  asio::awaitable<void> wait_until(std::chrono::steady_clock::time_point deadline) {
    if (!pending_) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(use_tuple);
    }
    pending_ = false;
  }

  asio::awaitable<void> wait_for(std::chrono::milliseconds duration) {
    co_await wait_until(std::chrono::steady_clock::now() + duration);
  }

 private:
  asio::any_io_executor strand_;
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace

std::string new_event_id() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = engine();
    for (int i = 15; i >= 0; --i, bits >>= 4) {
      id[static_cast<std::size_t>(half * 16 + i)] = kHex[bits & 0xf];
    }
  }
  return id;
}

/// Events handled and not yet completed in the store, in the order they were handled.
struct Completing {
  std::vector<InboxCompletion> done;
  std::vector<LogEntry> queued;  // the log entries of their replies
  std::chrono::steady_clock::time_point first_at{};
};

struct Runtime::Bot {
  Bot(std::string n, std::string p, asio::any_io_executor s, BotParts parts_)
      : name(std::move(n)),
        platform(std::move(p)),
        strand(std::move(s)),
        parts(std::move(parts_)),
        inbox_signal(strand),
        outbox_signal(strand),
        stop_signal(strand),
        completion_signal(strand) {}

  std::string name;
  std::string platform;
  asio::any_io_executor strand;
  BotParts parts;
  Signal inbox_signal;
  Signal outbox_signal;
  Signal stop_signal;
  Signal completion_signal;  // an event was handled, or a lane runner ended
  /// The events taken from the store and not completed, by chat (on the strand).
  InboxLanes inbox{1, 1};
  std::size_t inbox_concurrency = 1;
  std::size_t lane_runners = 0;  // run_lanes() coroutines running (on the strand)
  Completing completing;         // handled events waiting for their completion (on the strand)
  /// Set with outbox_signal when messages are queued: the outbox worker reads the store again.
  std::atomic<bool> outbox_pushed{true};
  OutboxLanes outbox;  // on the strand
  std::atomic<bool> ready{false};
  std::atomic<std::uint64_t> events_in{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> send_failures{0};
  std::atomic<std::uint64_t> delivery_uncertain{0};
  std::atomic<std::uint64_t> callbacks_rejected{0};
  /// Lines an outsider can repeat per request: at most one a second each (core/log_rate_limit).
  LogRateLimit rejected_log;
  LogRateLimit not_accepted_log;
  std::atomic<std::uint64_t> rate_limit_waits{0};
  std::atomic<std::uint64_t> rate_limited_ms{0};
  std::atomic<SystemTime::rep> last_event_ticks{0};     // 0: none yet
  std::atomic<SystemTime::rep> last_callback_ticks{0};  // 0: none yet
  mutable std::mutex error_mutex;  // guards last_error, written on the strand, read anywhere
  std::string last_error;
  ReplyWaiters reply_waiters;

  void set_error(std::string error) {
    std::lock_guard lock(error_mutex);
    last_error = std::move(error);
  }
};

Runtime::Runtime(asio::io_context& io, Store& store, const HandlerChain& chain,
                 RuntimeOptions options)
    : io_(io),
      store_(store),
      chain_(chain),
      options_(std::move(options)),
      log_(options_.message_log_capacity) {}

Runtime::~Runtime() = default;

asio::any_io_executor Runtime::make_bot_strand() { return asio::make_strand(io_); }

void Runtime::add_bot(std::string name, std::string platform, asio::any_io_executor strand,
                      BotParts parts) {
  auto bot = std::make_unique<Bot>(name, std::move(platform), std::move(strand), std::move(parts));
  bot->outbox.lane_depth = std::max<std::size_t>(options_.outbox_lane_depth, 1);
  bot->outbox.held_cap = std::max<std::size_t>(options_.outbox_held, 1);
  bot->inbox_concurrency = std::max<std::size_t>(
      bot->parts.inbox_concurrency > 0 ? bot->parts.inbox_concurrency : options_.inbox_concurrency,
      1);
  bot->inbox = InboxLanes(bot->inbox_concurrency, options_.inbox_held);
  bots_[name] = std::move(bot);
}

asio::awaitable<Result<void>> Runtime::prepare_bot(const std::string& name) {
  Bot* bot = find(name);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + name + "'"};
  co_return co_await asio::co_spawn(bot->strand, bot->parts.sender->prepare(), asio::use_awaitable);
}

asio::awaitable<Result<std::optional<OutboxStatus>>> Runtime::message_status(std::int64_t id) {
  co_return co_await store_.outbox_status(id);
}

asio::awaitable<Result<QueueDepth>> Runtime::queue_depth(std::string name) {
  co_return co_await store_.queue_depth(std::move(name));
}

Runtime::Bot* Runtime::find(const std::string& name) const {
  auto it = bots_.find(name);
  return it == bots_.end() ? nullptr : it->second.get();
}

bool Runtime::has_bot(const std::string& name) const { return find(name) != nullptr; }

void Runtime::start() {
  for (auto& [name, bot] : bots_) {
    auto log_end = [this, name = name](const char* worker) {
      return [this, name, worker](std::exception_ptr e) {
        --running_workers_;
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::critical("bot {}: {} worker stopped on a bug: {}", name, worker, ex.what());
        }
      };
    };
    running_workers_ += 3;
    asio::co_spawn(bot->strand, inbox_worker(*bot), log_end("inbox"));
    asio::co_spawn(bot->strand, inbox_completer(*bot), log_end("inbox completion"));
    asio::co_spawn(bot->strand, outbox_worker(*bot), log_end("outbox"));
    for (auto& source : bot->parts.sources) {
      ++running_workers_;
      EventSource::Accept accept_event = [this, b = bot.get()](Event event) {
        return accept(*b, std::move(event));
      };
      asio::co_spawn(bot->strand, source->run(std::move(accept_event)), log_end("gateway"));
    }
  }
}

void Runtime::stop() {
  stopping_ = true;
  log_.close();
  for (auto& [name, bot] : bots_) {
    bot->inbox_signal.notify();
    bot->outbox_signal.notify();
    bot->stop_signal.notify();
    bot->completion_signal.notify();
    for (auto& source : bot->parts.sources) source->stop();
  }
}

bool Runtime::stopped() const { return running_workers_ == 0; }

namespace {

/// The reason a bot's gateway stopped for good, if one did.
std::optional<std::string> fatal_connection(const BotParts& parts) {
  for (const auto& source : parts.sources) {
    EventSourceStatus status = source->status();
    if (status.state == "fatal") return std::move(status.detail);
  }
  return std::nullopt;
}

}  // namespace

bool Runtime::ready() const {
  for (const auto& [name, bot] : bots_) {
    if (!bot->ready || fatal_connection(bot->parts)) return false;
  }
  return true;
}

std::vector<BotStatus> Runtime::status() const {
  std::vector<BotStatus> out;
  for (const auto& [name, bot] : bots_) {
    BotStatus s;
    s.name = bot->name;
    s.platform = bot->platform;
    s.ready = bot->ready;
    {
      std::lock_guard lock(bot->error_mutex);
      s.last_error = bot->last_error;
    }
    for (const auto& source : bot->parts.sources) s.connections.push_back(source->status());
    if (auto fatal = fatal_connection(bot->parts)) {
      s.ready = false;
      s.last_error = std::move(*fatal);
    }
    s.events_in = bot->events_in;
    s.messages_sent = bot->messages_sent;
    s.send_failures = bot->send_failures;
    s.delivery_uncertain = bot->delivery_uncertain;
    s.has_webhook = bot->parts.webhook != nullptr && bot->parts.webhook_public;
    s.callbacks_rejected = bot->callbacks_rejected;
    const RateLimitWaits in_sender = bot->parts.sender->rate_limit_waits();
    s.rate_limit_waits = bot->rate_limit_waits + in_sender.count;
    s.rate_limited_ms = bot->rate_limited_ms + in_sender.total_ms;
    s.last_event_at = from_ticks(bot->last_event_ticks);
    s.last_callback_at = from_ticks(bot->last_callback_ticks);
    s.token_expires_at = bot->parts.sender->token_expires_at();
    out.push_back(std::move(s));
  }
  return out;
}

asio::awaitable<HttpAnswer> Runtime::on_webhook(std::string name, const HttpRequest& request,
                                                  WebhookRoute route) {
  Bot* bot = find(name);
  if (bot == nullptr || !bot->parts.webhook ||
      (route == WebhookRoute::public_url && !bot->parts.webhook_public)) {
    co_return make_response(http::status::not_found, R"({"error":"no such bot"})");
  }
  auto outcome = bot->parts.webhook->handle(request);
  if (!outcome) {
    ++bot->callbacks_rejected;
    const Error& error = outcome.error();
    // Anyone can post forged callbacks, as fast as they like: one line a second per bot.
    if (auto held = bot->rejected_log.admit()) {
      spdlog::warn("bot {}: callback rejected ({}): {}{}", name, http_status_for(error),
                   error.message(), suppressed_note(*held));
    }
    co_return rejection_response(error);
  }
  bot->last_callback_ticks = now_ticks();
  std::shared_ptr<ReplyWaiters::Waiter> waiter;
  if (outcome->reply_window.count() > 0 && outcome->reply_ack && !outcome->events.empty()) {
    Event& first = outcome->events.front();
    if (first.id.empty()) first.id = new_event_id();
    waiter = bot->reply_waiters.open(first.id, std::move(outcome->reply_ack),
                                     co_await asio::this_coro::executor);
  }
  const std::string waiting_for = waiter ? outcome->events.front().id : std::string();
  bool first_is_new = false;
  for (std::size_t i = 0; i < outcome->events.size(); ++i) {
    auto accepted = co_await accept(*bot, std::move(outcome->events[i]));
    if (!accepted) {
      if (waiter) (void)bot->reply_waiters.close(waiting_for);
      // Not acknowledged: the platform delivers it again, so nothing is lost.
      co_return make_response(http::status::service_unavailable, R"({"error":"store failed"})");
    }
    if (i == 0) first_is_new = *accepted;
  }
  if (waiter) {
    if (first_is_new) co_await bot->reply_waiters.wait(waiter, outcome->reply_window);
    if (auto answer = bot->reply_waiters.close(waiting_for)) co_return std::move(*answer);
  }
  co_return std::move(outcome->ack);
}

asio::awaitable<Result<bool>> Runtime::on_event(Event event) {
  Bot* bot = find(event.bot);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + event.bot + "'"};
  co_return co_await accept(*bot, std::move(event));
}

asio::awaitable<Result<bool>> Runtime::accept(Bot& bot, Event event) {
  if (event.id.empty()) event.id = new_event_id();
  event.bot = bot.name;
  if (event.platform.empty()) event.platform = bot.platform;
  // Dedup on the message id where there is one: Feishu may push one message again under a new
  // event_id (its im.message.receive_v1 page says to dedup on message_id), and a redelivery of
  // the same event carries the same message id too. One key per event, not two: each key is a
  // random insert into the store's dedup index, the costliest write of an accept.
  std::vector<std::string> keys;
  if (event.message && !event.message->id.empty()) {
    keys.push_back("m:" + bot.name + ":" + event.message->id);
  } else {
    keys.push_back("e:" + bot.name + ":" + event.platform_event_id);
  }
  const std::string event_id = event.platform_event_id;
  const std::string chat_id = event.chat.id;
  const std::string sender_id = event.sender.id;
  LogEntry log_entry = MessageLog::incoming(event);
  auto accepted = co_await store_.accept(std::move(event), std::move(keys), options_.dedup_ttl);
  if (!accepted) {
    if (auto held = bot.not_accepted_log.admit()) {
      spdlog::error("bot {}: event {} not accepted: {}{}", bot.name, event_id,
                    accepted.error().message(), suppressed_note(*held));
    }
    co_return accepted;
  }
  if (*accepted) {
    ++bot.events_in;
    bot.last_event_ticks = now_ticks();
    log_.add(std::move(log_entry));
    spdlog::info("bot {}: event {} received (chat {}, from {})", bot.name, event_id, chat_id,
                 sender_id);
    bot.inbox_signal.notify();
  } else {
    spdlog::info("bot {}: event {} is a duplicate, acknowledged without a reply", bot.name,
                 event_id);
  }
  co_return accepted;
}

std::vector<OutgoingMessage> Runtime::split_for_platform(Bot& bot,
                                                         std::vector<OutgoingMessage> messages) {
  if (messages.empty()) return messages;
  return bot.parts.sender->split_replies(std::move(messages));
}

asio::awaitable<Result<std::int64_t>> Runtime::send(OutgoingMessage message) {
  Bot* bot = find(message.bot);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + message.bot + "'"};
  const std::string key = message.idempotency_key.empty() ? new_event_id().substr(0, 24)
                                                          : message.idempotency_key;
  std::vector<OutgoingMessage> parts = bot->parts.sender->split(std::move(message));
  Result<std::int64_t> first = Error{errc::invalid_argument, "empty message"};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    parts[i].idempotency_key = parts.size() == 1 ? key : key + "-" + std::to_string(i);
    LogEntry log_entry = MessageLog::outgoing(parts[i], bot->platform, "");
    auto id = co_await store_.outbox_push(std::move(parts[i]));
    if (!id) co_return id;
    log_.add(std::move(log_entry));
    if (i == 0) first = *id;
  }
  bot->outbox_pushed = true;
  bot->outbox_signal.notify();
  co_return first;  // the id of the first part: the message's id for the API
}

asio::awaitable<void> Runtime::inbox_worker(Bot& bot) {
  InboxLanes& lanes = bot.inbox;
  while (!stopping_) {
    bool full_page = false;
    if (const std::size_t room = lanes.room(); room > 0) {
      auto items = co_await store_.inbox_take(bot.name, std::min(room, kInboxBatch));
      if (!items) {
        spdlog::warn("bot {}: cannot read the inbox: {}", bot.name, items.error().message());
        co_await bot.inbox_signal.wait_for(std::chrono::seconds(1));
        continue;
      }
      full_page = items->size() == std::min(room, kInboxBatch);
      lanes.add(std::move(*items));
    }
    // One runner per lane that may start: each handles its chat's events in order, then the
    // next waiting chat's, until none waits.
    while (lanes.has_waiting() && bot.lane_runners < bot.inbox_concurrency) {
      ++bot.lane_runners;
      ++running_workers_;
      asio::co_spawn(bot.strand, run_lanes(bot), [this, name = bot.name](std::exception_ptr e) {
        --running_workers_;
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::critical("bot {}: an inbox lane stopped on a bug: {}", name, ex.what());
        }
      });
    }
    if (full_page && lanes.room() > 0) continue;  // more may wait in the store
    co_await bot.inbox_signal.wait_for(std::chrono::minutes(1));
  }
  bot.completion_signal.notify();
}

asio::awaitable<void> Runtime::run_lanes(Bot& bot) {
  InboxLanes& lanes = bot.inbox;
  while (!stopping_) {
    auto lane = lanes.start_lane();
    if (!lane) break;
    while (auto item = lanes.next(*lane)) {
      co_await handle_event(bot, std::move(*item));
      if (stopping_) {
        lanes.abandon(*lane);
        break;
      }
    }
  }
  --bot.lane_runners;
  bot.inbox_signal.notify();  // a runner is free: a waiting chat may start
  bot.completion_signal.notify();
}

asio::awaitable<void> Runtime::handle_event(Bot& bot, InboxItem item) {
  const Event& event = item.event;
  std::vector<OutgoingMessage> replies;
  // Never answer ourselves or other bots: two bots echoing each other would never stop.
  if (!event.sender.is_bot) {
    replies = co_await chain_.run(event);
  }
  replies = split_for_platform(bot, std::move(replies));
  for (std::size_t i = 0; i < replies.size(); ++i) {
    // Stable across a crash between handling and completing: the same event gives the same
    // keys, so the platform drops a second copy (Feishu uuid, Discord nonce).
    replies[i].idempotency_key = event.id.substr(0, 24) + "-" + std::to_string(i);
  }
  if (!replies.empty()) {
    if (auto waiter = bot.reply_waiters.hand(event.id, replies.front())) {
      if (co_await bot.reply_waiters.written(waiter, kInlineWriteWait)) {
        // Delivered in the callback's answer; the others keep their keys (-1, -2...).
        spdlog::info("bot {}: event {} answered in the callback response", bot.name,
                     event.platform_event_id);
        ++bot.messages_sent;
        log_.add(MessageLog::outgoing(replies.front(), event.platform, event.id,
                                      LogOutcome::sent));
        replies.erase(replies.begin());
      } else {
        // Maybe not delivered: the outbox sends it, idempotently (see ReplyWaiters).
        spdlog::warn("bot {}: the callback answer to event {} was not written; its reply "
                     "is sent through the API",
                     bot.name, event.platform_event_id);
      }
    }
  }
  for (const OutgoingMessage& reply : replies) {
    bot.completing.queued.push_back(MessageLog::outgoing(reply, event.platform, event.id));
  }
  if (bot.completing.done.empty()) bot.completing.first_at = std::chrono::steady_clock::now();
  bot.completing.done.push_back(InboxCompletion{item.id, std::move(replies)});
  bot.completion_signal.notify();
}

asio::awaitable<void> Runtime::inbox_completer(Bot& bot) {
  using Steady = std::chrono::steady_clock;
  Completing& pending = bot.completing;
  while (true) {
    if (pending.done.empty()) {
      if (stopping_ && bot.lane_runners == 0) break;
      co_await bot.completion_signal.wait_for(std::chrono::minutes(1));
      continue;
    }
    // Events handled close together are completed together, in one store transaction: wait
    // up to kCompleteWindow for more while lanes run (a slow handler's event is not held).
    const auto deadline = pending.first_at + kCompleteWindow;
    while (!stopping_ && bot.lane_runners > 0 && pending.done.size() < kInboxBatch &&
           Steady::now() < deadline) {
      co_await bot.completion_signal.wait_until(deadline);
    }
    std::vector<InboxCompletion> done = std::move(pending.done);
    std::vector<LogEntry> queued = std::move(pending.queued);
    pending.done.clear();
    pending.queued.clear();
    const std::size_t count = done.size();
    if (co_await complete(bot, done, queued)) {
      bot.inbox.completed(count);
      bot.inbox_signal.notify();  // room for more
      continue;
    }
    if (stopping_) break;  // the events stay in the inbox: the next start handles them again
    // The same completions again, ahead of any that came meanwhile: a chat's replies keep
    // their order, and no handler (a forward) is called twice. A failing store is not
    // hammered.
    for (InboxCompletion& item : pending.done) done.push_back(std::move(item));
    for (LogEntry& entry : pending.queued) queued.push_back(std::move(entry));
    pending.done = std::move(done);
    pending.queued = std::move(queued);
    co_await bot.stop_signal.wait_for(std::chrono::seconds(1));
  }
}

asio::awaitable<bool> Runtime::complete(Bot& bot, std::vector<InboxCompletion>& done,
                                        std::vector<LogEntry>& queued) {
  bool has_replies = false;
  for (const InboxCompletion& item : done) has_replies = has_replies || !item.replies.empty();
  const std::size_t count = done.size();
  auto completed = co_await store_.inbox_complete(done);
  if (!completed) {
    spdlog::error("bot {}: cannot complete {} event(s): {}", bot.name, count,
                  completed.error().message());
    co_return false;
  }
  for (LogEntry& entry : queued) log_.add(std::move(entry));
  if (has_replies) {
    for (OutboxItem& item : *completed) bot.outbox.arrived.push_back(std::move(item));
    bot.outbox_signal.notify();
  }
  co_return true;
}

asio::awaitable<void> Runtime::outbox_worker(Bot& bot) {
  using Steady = std::chrono::steady_clock;
  OutboxLanes& box = bot.outbox;
  const std::size_t concurrency = std::max<std::size_t>(options_.send_concurrency, 1);
  int prepare_attempt = 0;
  while (!stopping_) {
    if (!bot.ready) {
      take_arrived(box, bot.outbox_pushed, /*read_failed=*/true);  // read once ready
      if (box.in_flight > 0) {
        // The sends in flight end first (each settles its own message): prepare() never runs
        // beside a send that still uses the old token.
        co_await bot.outbox_signal.wait_for(std::chrono::seconds(60));
        continue;
      }
      auto prepared = co_await bot.parts.sender->prepare();
      if (!prepared) {
        ++prepare_attempt;
        const auto delay = backoff_delay(options_.send_backoff, prepare_attempt, unit_random());
        spdlog::warn("bot {}: not ready: {} (next try in {} ms)", bot.name,
                     prepared.error().message(), delay.count());
        bot.set_error(prepared.error().message());
        co_await bot.outbox_signal.wait_for(delay);
        continue;
      }
      prepare_attempt = 0;
      bot.set_error({});
      bot.ready = true;
      spdlog::info("bot {}: ready", bot.name);
    }

    bool read_failed = false;
    if (box.refill) {
      box.refill = false;
      if (!co_await refill_lanes(bot)) read_failed = true;
    }
    // Read what became due, on from what the lanes hold already.
    if (Steady::now() - box.last_full_scan >= kFullScanEvery) box.cursor = 0;
    const bool pushed = bot.outbox_pushed.exchange(false);
    if (box.cursor == 0 || box.more || pushed) {
      if (box.cursor == 0) {
        // A scan from the start meets every queued message of a chat in order again.
        box.last_full_scan = Steady::now();
        for (auto it = box.lanes.begin(); it != box.lanes.end();) {
          it->second.truncated = false;
          it = it->second.items.empty() ? box.lanes.erase(it) : std::next(it);
        }
      }
      const SystemTime now = Clock::now();
      while (box.held.size() < box.held_cap) {
        auto page = co_await store_.outbox_due(bot.name, now, kOutboxPage, box.cursor);
        if (!page) {
          spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, page.error().message());
          read_failed = true;
          break;
        }
        for (OutboxItem& item : *page) {
          box.cursor = std::max(box.cursor, item.id);
          if (box.held.contains(item.id)) continue;  // in its lane already, maybe in flight
          place_in_lane(box, item);
        }
        box.more = page->size() == kOutboxPage;
        if (!box.more) break;
      }
    }

    take_arrived(box, bot.outbox_pushed, read_failed);

    // Start the first message of each idle chat, oldest first, up to the concurrency.
    const auto now = Steady::now();
    if (bot.ready && box.in_flight < concurrency) {
      std::vector<std::pair<std::int64_t, const std::string*>> idle;
      for (const auto& [key, lane] : box.lanes) {
        if (!lane.sending && !lane.items.empty() && lane.held_until <= now) {
          idle.emplace_back(lane.items.front().id, &key);
        }
      }
      std::sort(idle.begin(), idle.end());
      for (const auto& [id, key] : idle) {
        if (box.in_flight >= concurrency) break;
        box.lanes.at(*key).sending = true;
        ++box.in_flight;
        asio::co_spawn(bot.strand, send_in_lane(bot, *key),
                       [name = bot.name](std::exception_ptr e) {
                         if (!e) return;
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::critical("bot {}: a send stopped on a bug: {}", name,
                                            ex.what());
                         }
                       });
      }
    }

    if (stopping_) break;
    if ((box.refill && !read_failed) || (!bot.ready && box.in_flight == 0)) continue;
    // Wait for a send to end, a message to be queued, a chat's retry time, or stop().
    auto deadline = now + std::chrono::seconds(60);
    for (const auto& [key, lane] : box.lanes) {
      if (!lane.sending && !lane.items.empty() && lane.held_until > now) {
        deadline = std::min(deadline, lane.held_until);
      }
    }
    if (read_failed) deadline = std::min(deadline, now + std::chrono::seconds(1));
    if (box.in_flight == 0) {
      // Messages not read yet may come due later (retries left by a previous run): read from
      // the start then, at most once per kFullScanEvery.
      auto next = co_await store_.outbox_next_due(bot.name);
      if (next && *next) {
        const auto in = std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(**next - Clock::now()),
            std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
        deadline = std::min(deadline, std::max(Steady::now() + in,
                                               box.last_full_scan + kFullScanEvery));
      }
    }
    co_await bot.outbox_signal.wait_until(deadline);
  }
  // Nothing accepted is lost: what is not sent stays queued in the store. The sends in flight
  // end first, since they use this bot and this runtime.
  while (box.in_flight > 0 || box.recording > 0) {
    co_await bot.outbox_signal.wait_for(std::chrono::seconds(1));
  }
}

asio::awaitable<bool> Runtime::refill_lanes(Bot& bot) {
  OutboxLanes& box = bot.outbox;
  std::vector<std::string> dry;
  for (const auto& [key, lane] : box.lanes) {
    if (lane.refill) dry.push_back(key);
  }
  const SystemTime now = Clock::now();
  for (const std::string& key : dry) {
    auto found = box.lanes.find(key);
    if (found == box.lanes.end() || !found->second.refill) continue;
    auto page = co_await store_.outbox_due_in_lane(bot.name, key, now, box.lane_depth,
                                                   found->second.last_id);
    if (!page) {
      spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, page.error().message());
      box.refill = true;
      co_return false;
    }
    // Looked up again: the lanes changed while the store read.
    Lane& lane = box.lanes[key];
    lane.refill = false;
    lane.truncated = page->size() == box.lane_depth;
    for (OutboxItem& item : *page) {
      lane.last_id = std::max(lane.last_id, item.id);
      if (!box.held.insert(item.id).second) continue;
      lane.items.push_back(std::move(item));
    }
    if (lane.items.empty() && !lane.sending && !lane.truncated) box.lanes.erase(key);
  }
  co_return true;
}

asio::awaitable<void> Runtime::send_in_lane(Bot& bot, std::string key) {
  OutboxLanes& box = bot.outbox;
  // A sending lane is never erased, and its first message stays first (std::deque keeps
  // references to its elements across push_back).
  const OutboxItem& item = box.lanes.at(key).items.front();
  const Attempt attempt = co_await deliver(bot, item);
  Lane& lane = box.lanes.at(key);
  if (attempt.outcome == Attempt::retry) {
    // The chat's later messages wait with it; other chats go on.
    ++lane.items.front().attempts;
    lane.held_until = std::chrono::steady_clock::now() + attempt.retry_in;
  } else {
    if (attempt.outcome == Attempt::done) box.held.erase(lane.items.front().id);
    lane.items.pop_front();
  }
  lane.sending = false;
  if (lane.items.empty()) {
    if (lane.truncated) {
      // This chat's later messages are still in the store only.
      lane.refill = true;
      box.refill = true;
    } else {
      box.lanes.erase(key);
    }
  }
  --box.in_flight;
  bot.outbox_signal.notify();
}

asio::awaitable<Runtime::Attempt> Runtime::deliver(Bot& bot, const OutboxItem& item) {
  auto sent = co_await bot.parts.sender->send(item.message);
  if (sent) {
    ++bot.messages_sent;
    spdlog::info("bot {}: message {} sent to chat {} (platform id {})", bot.name, item.id,
                 item.message.chat_id, sent->platform_message_id);
    // The chat's next message need not wait for this outcome to be written: the platform has
    // this one already. Written alone, one small commit per reply was a fifth of a gateway
    // event's CPU; in the background it shares the store's next round with the other writes.
    ++bot.outbox.recording;
    asio::co_spawn(bot.strand, record_sent(bot, item.id, std::move(sent->platform_message_id)),
                   [name = bot.name](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::critical("bot {}: recording a sent message stopped on a bug: {}",
                                        name, ex.what());
                     }
                   });
    log_.delivery(item.message, bot.platform, LogOutcome::sent, "", item.attempts + 1);
    co_return Attempt{Attempt::recording};
  }
  const Error& error = sent.error();
  const int attempt = item.attempts + 1;
  const SendDecision decision = decide_after_failure(error, attempt, options_.max_send_attempts,
                                                     options_.send_backoff, unit_random());
  if (decision.kind == SendDecision::uncertain) {
    // Neither sent again (it may be there already, and the platform has no key to drop a copy)
    // nor counted as a failure (it may have arrived): recorded as what it is.
    ++bot.delivery_uncertain;
    spdlog::warn("bot {}: message {} to chat {} may or may not have been delivered (attempt {}); "
                 "not sent again: {}",
                 bot.name, item.id, item.message.chat_id, attempt, error.message());
    bot.set_error(error.message());
    (void)co_await store_.outbox_failed(item.id, error.message());
    log_.delivery(item.message, bot.platform, LogOutcome::failed, error.message(), attempt);
    co_return Attempt{Attempt::done};
  }
  if (decision.kind == SendDecision::failed) {
    ++bot.send_failures;
    spdlog::error("bot {}: message {} to chat {} failed after {} attempt(s): {}", bot.name,
                  item.id, item.message.chat_id, attempt, error.message());
    bot.set_error(error.message());
    (void)co_await store_.outbox_failed(item.id, error.message());
    log_.delivery(item.message, bot.platform, LogOutcome::failed, error.message(), attempt);
    co_return Attempt{Attempt::done};
  }
  const auto delay = decision.delay;
  spdlog::warn("bot {}: message {} to chat {} not sent ({}); retry {} in {} ms", bot.name, item.id,
               item.message.chat_id, error.message(), attempt, delay.count());
  if (error.is(errc::token_rejected) || error.is(errc::token_unavailable)) bot.ready = false;
  if (error.is(errc::rate_limited)) {
    ++bot.rate_limit_waits;
    bot.rate_limited_ms += static_cast<std::uint64_t>(delay.count());
  }
  (void)co_await store_.outbox_retry(item.id, Clock::now() + delay, error.message());
  log_.delivery(item.message, bot.platform, LogOutcome::retrying, error.message(), attempt);
  // The chat's later messages wait in its lane rather than overtake this one, and a platform
  // that asked us to slow down gets its pause in this chat.
  co_return Attempt{Attempt::retry, delay};
}

asio::awaitable<void> Runtime::record_sent(Bot& bot, std::int64_t id, std::string platform_id) {
  auto recorded = co_await store_.outbox_sent(id, std::move(platform_id));
  if (!recorded) {
    // Stays queued in the store: sent again after a restart or the next scan from the start,
    // the same as when the process stops between the send and this write.
    spdlog::error("bot {}: message {} was sent but the store could not record it: {}", bot.name,
                  id, recorded.error().message());
  }
  bot.outbox.held.erase(id);
  --bot.outbox.recording;
  bot.outbox_signal.notify();
}

}  // namespace botgate
