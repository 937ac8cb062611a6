#include "botgate/core/runtime.hpp"

#include "botgate/core/stream_send.hpp"

#include "botgate/core/runtime_bot.hpp"
#include "botgate/core/webhook_rejection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace botgate {
namespace {

using Clock = std::chrono::system_clock;

SystemTime::rep now_ticks() { return Clock::now().time_since_epoch().count(); }

std::optional<SystemTime> from_ticks(SystemTime::rep ticks) {
  if (ticks == 0) return std::nullopt;
  return SystemTime(SystemTime::duration(ticks));
}

}  // namespace

double unit_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

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

Runtime::Runtime(asio::io_context& io, Store& store, const HandlerChain& chain,
                 RuntimeOptions options)
    : io_(io),
      store_(store),
      chain_(chain),
      options_(std::move(options)),
      log_(options_.message_log_capacity),
      feed_(options_.event_feed_capacity),
      wake_rounds_(io.get_executor(), options_.stream_rounds) {
  // The store tells the feed each event it logs from now on; those before are the store's.
  feed_.start_at(
      store_.watch_events([this](LoggedEvent event) { feed_.publish(std::move(event)); }));
  // Instances on one store show one message log: each gives the others what it logs, and
  // follows theirs once its own is read (reading them costs each instance for every event).
  if (store_.watch_log(nullptr)) {
    log_.set_publisher([this](const LogEntry& entry) { store_.share_log(entry); });
    log_.set_first_read_hook([this] {
      store_.watch_log([this](LogEntry entry) { log_.add_shared(std::move(entry)); });
    });
  }
}

Runtime::~Runtime() {
  store_.watch_log(nullptr);
  store_.watch_work(nullptr);
  store_.watch_events(nullptr);
}

asio::awaitable<Result<std::vector<LoggedEvent>>> Runtime::events_after(std::int64_t after,
                                                                        EventFilter filter,
                                                                        std::size_t limit) {
  co_return co_await store_.events_after(after, std::move(filter), limit);
}

asio::any_io_executor Runtime::make_bot_strand() { return asio::make_strand(io_); }

void Runtime::add_bot(std::string name, std::string platform, asio::any_io_executor strand,
                      BotParts parts) {
  auto bot = std::make_unique<Bot>(name, std::move(platform), std::move(strand), std::move(parts));
  bot->outbox = OutboxLanes(options_.outbox_lane_depth, options_.outbox_held);
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
  auto status = co_await store_.outbox_status(id);
  // A live stream's end is here before it is in the store.
  if (status && *status && (*status)->stream) {
    if (auto live = streams_.snapshot(id)) (*status)->stream = live->end;
  }
  co_return status;
}

asio::awaitable<Result<std::vector<DeadLetter>>> Runtime::dead_letters(std::string bot,
                                                                       std::int64_t before,
                                                                       std::size_t limit) {
  co_return co_await store_.dead_letters(std::move(bot), before, limit);
}

asio::awaitable<Result<bool>> Runtime::retry_dead_letter(std::int64_t id) {
  auto bot_name = co_await store_.dead_letter_retry(id);
  if (!bot_name) co_return bot_name.error();
  if (!*bot_name) co_return false;
  spdlog::info("dead letter {} goes back into the inbox of bot {}", id, **bot_name);
  if (Bot* bot = find(**bot_name)) bot->inbox_signal.notify();
  co_return true;
}

asio::awaitable<Result<bool>> Runtime::discard_dead_letter(std::int64_t id) {
  co_return co_await store_.dead_letter_discard(id);
}

asio::awaitable<Result<std::optional<Event>>> Runtime::reply_target(std::string event_id) {
  co_return co_await store_.reply_ref(std::move(event_id));
}

asio::awaitable<Result<QueueDepth>> Runtime::queue_depth(std::string name) {
  co_return co_await store_.queue_depth(std::move(name));
}

Runtime::Bot* Runtime::find(const std::string& name) const {
  auto it = bots_.find(name);
  return it == bots_.end() ? nullptr : it->second.get();
}

bool Runtime::has_bot(const std::string& name) const { return find(name) != nullptr; }

std::optional<std::string> Runtime::bot_platform(const std::string& name) const {
  const Bot* bot = find(name);
  if (!bot) return std::nullopt;
  return bot->platform;
}

void Runtime::start() {
  // Work another instance queued (several instances on one store): that bot's workers take
  // from the store. Set here, once every bot was added: the listener runs on the store's thread.
  store_.watch_work([this](const std::string& name) {
    if (Bot* bot = find(name)) {
      bot->inbox_signal.notify();
      bot->outbox_pushed = true;
      bot->outbox_signal.notify();
    }
  });
  for (auto& [name, bot] : bots_) {
    const WebhookHandler* webhook = bot->parts.webhook.get();
    bot->handles_at_accept =
        options_.handle_at_accept && store_.accepts_handled() && chain_.immediate_for(name);
    if (bot->handles_at_accept && webhook != nullptr && webhook->answers_in_callback()) {
      // The guard keeps a chat's replies in order across the two paths, but it counts only
      // this instance's inbox path: with other instances on the store, every event goes
      // through the inbox, as one order.
      if (store_.shared()) {
        bot->handles_at_accept = false;
      } else {
        bot->inbox_path_guard = std::make_unique<InboxPathGuard>();
      }
    }
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
  streams_.wake_all();
  for (auto& [name, bot] : bots_) {
    bot->inbox_signal.notify();
    bot->outbox_signal.notify();
    bot->stop_signal.notify();
    bot->completion_signal.notify();
    asio::post(bot->strand, [b = bot.get()] {
      for (asio::steady_timer* timer : b->retry_sleepers) timer->cancel();
    });
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
    for (const auto& source : bot->parts.sources) {
      for (EventSourceStatus& connection : source->connections()) {
        s.connections.push_back(std::move(connection));
      }
    }
    if (auto fatal = fatal_connection(bot->parts)) {
      s.ready = false;
      s.last_error = std::move(*fatal);
    }
    s.events_in = bot->events_in;
    s.messages_sent = bot->messages_sent;
    s.send_failures = bot->send_failures;
    s.delivery_uncertain = bot->delivery_uncertain;
    s.has_webhook = bot->parts.webhook != nullptr && bot->parts.webhook_public;
    s.inbox_concurrency = bot->inbox_concurrency;
    s.callbacks_rejected = bot->callbacks_rejected;
    s.handling_retries = bot->handling_retries;
    s.dead_lettered = bot->dead_lettered;
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
    auto accepted = co_await accept(*bot, std::move(outcome->events[i]), waiter && i == 0);
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

asio::awaitable<Result<bool>> Runtime::accept(Bot& bot, Event event, bool must_queue) {
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
  bool handle_now = bot.handles_at_accept && !must_queue;
  // The id the guard counts it by, if it does: the event moves into the store.
  std::optional<std::string> guarded;
  if (bot.inbox_path_guard && !bot.inbox_path_guard->may_handle_now(event, must_queue)) {
    handle_now = false;
    guarded = event.id;
  }
  std::optional<std::vector<OutgoingMessage>> replies;
  if (handle_now) {
    replies = co_await handle_at_accept(bot, event);
    if (!replies && bot.inbox_path_guard) {
      bot.inbox_path_guard->queued(event);
      guarded = event.id;
    }
  }
  std::vector<LogEntry> reply_entries;
  if (replies) {
    for (const OutgoingMessage& reply : *replies) {
      reply_entries.push_back(MessageLog::outgoing(reply, event.platform, event.id));
    }
    // Before the commit, since the event moves into the store: no_reply only ends what a
    // platform shows pending, and a duplicate of the event gets the same answer from the chain.
    if (replies->empty()) bot.parts.sender->no_reply(event);
  }
  Result<bool> accepted = false;
  if (replies) {
    accepted = co_await store_.accept_handled(std::move(event), std::move(keys),
                                              options_.dedup_ttl, std::move(*replies));
  } else {
    accepted = co_await store_.accept(std::move(event), std::move(keys), options_.dedup_ttl);
  }
  if (guarded && !(accepted && *accepted)) bot.inbox_path_guard->left(*guarded);
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
    if (!replies) {
      bot.inbox_signal.notify();
    } else if (!reply_entries.empty()) {
      for (LogEntry& entry : reply_entries) log_.add(std::move(entry));
      bot.outbox_pushed = true;
      bot.outbox_signal.notify();
    }
  } else {
    spdlog::info("bot {}: event {} is a duplicate, acknowledged without a reply", bot.name,
                 event_id);
  }
  co_return accepted;
}

asio::awaitable<std::optional<std::vector<OutgoingMessage>>> Runtime::handle_at_accept(
    Bot& bot, const Event& event) {
  ChainOutcome outcome;
  // Never answer ourselves or other bots (see handle_event).
  if (!event.sender.is_bot) outcome = co_await chain_.run(event, 1, Clock::now(), nullptr);
  if (outcome.result != HandlerResult::done || outcome.answers_later || outcome.streamed) {
    co_return std::nullopt;
  }
  co_return replies_for(bot, event, std::move(outcome.replies));
}

std::vector<OutgoingMessage> Runtime::replies_for(Bot& bot, const Event& event,
                                                  std::vector<OutgoingMessage> replies) {
  if (replies.empty()) return replies;
  replies = bot.parts.sender->split_replies(std::move(replies));
  for (std::size_t i = 0; i < replies.size(); ++i) {
    // Stable across a crash between handling and completing: the same event gives the same
    // keys, so the platform drops a second copy (Feishu uuid, Discord nonce).
    replies[i].idempotency_key = event.id.substr(0, 24) + "-" + std::to_string(i);
  }
  return replies;
}

asio::awaitable<Result<std::int64_t>> Runtime::send(OutgoingMessage message,
                                                     std::string client_key) {
  Bot* bot = find(message.bot);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + message.bot + "'"};
  const std::string key = message.idempotency_key.empty()
                              ? kSendKeyMark + new_event_id().substr(0, 23)
                              : message.idempotency_key;
  std::vector<OutgoingMessage> parts = bot->parts.sender->split(std::move(message));
  if (parts.empty()) co_return Error{errc::invalid_argument, "empty message"};
  std::vector<LogEntry> log_entries;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    parts[i].idempotency_key = parts.size() == 1 ? key : key + "-" + std::to_string(i);
    log_entries.push_back(MessageLog::outgoing(parts[i], bot->platform, ""));
  }
  auto pushed = co_await store_.outbox_push_message(std::move(parts), std::move(client_key));
  if (!pushed) co_return pushed.error();
  if (!pushed->queued) {
    spdlog::info("bot {}: message {} was queued before with this idempotency key; not again",
                 bot->name, pushed->id);
    co_return pushed->id;
  }
  for (LogEntry& entry : log_entries) log_.add(std::move(entry));
  bot->outbox_pushed = true;
  bot->outbox_signal.notify();
  co_return pushed->id;  // the id of the first part: the message's id for the API
}

asio::awaitable<Result<std::int64_t>> Runtime::open_stream(OutgoingMessage message,
                                                            std::string client_key) {
  Bot* bot = find(message.bot);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + message.bot + "'"};
  if (message.idempotency_key.empty()) {
    message.idempotency_key = kSendKeyMark + new_event_id().substr(0, 23);
  }
  message.stream = true;
  std::string text = message.plain_text();
  message = with_stream_text(message, text);
  message.stream = true;
  LogEntry log_entry = MessageLog::outgoing(message, bot->platform, "", LogOutcome::streaming);
  StreamHub::Label label{bot->name, log_entry.id};
  std::vector<OutgoingMessage> one;
  one.push_back(std::move(message));
  auto pushed = co_await store_.outbox_push_message(std::move(one), std::move(client_key));
  if (!pushed) co_return pushed.error();
  if (!pushed->queued) {
    spdlog::info("bot {}: stream {} was opened before with this idempotency key; not again",
                 bot->name, pushed->id);
    co_return pushed->id;
  }
  if (!text.empty()) {
    auto stored = co_await store_.outbox_stream_text(pushed->id, text, StreamEnd::open);
    if (!stored) co_return stored.error();
  }
  StreamSnapshot start{std::move(text), StreamEnd::open, 1};  // version 1: what a sender has not seen yet
  streams_.open(pushed->id, std::move(start), std::move(label));
  log_.add(std::move(log_entry));
  bot->outbox_pushed = true;
  bot->outbox_signal.notify();
  co_return pushed->id;
}

asio::awaitable<Result<StreamSnapshot>> Runtime::grow_stream(std::int64_t id, StreamChange change) {
  auto changed = streams_.change(id, change, options_.stream_store_interval);
  if (!changed) {
    if (!changed.error().is(errc::not_found)) co_return changed.error();
    // Not live here: say why, from the store.
    auto status = co_await store_.outbox_status(id);
    if (!status) co_return status.error();
    const std::string what = "message " + std::to_string(id);
    if (!*status) co_return Error{errc::not_found, "no " + what};
    if (!(*status)->stream) co_return Error{errc::conflict, what + " is not a streamed message"};
    if (*(*status)->stream == StreamEnd::finished) {
      co_return Error{errc::conflict, what + " is a stream that was finished"};
    }
    co_return Error{errc::conflict, what + " is a stream that was cut short (its producer "
                                           "stalled or broke off, or botgate restarted in its "
                                           "middle)"};
  }
  if (changed->store_now) {
    auto stored = co_await store_.outbox_stream_text(id, changed->state.text, changed->state.end);
    if (!stored) co_return stored.error();
  }
  log_.update_text(changed->label.log_id, changed->state.text);
  co_return std::move(changed->state);
}

asio::awaitable<Result<void>> Runtime::cut_stream(std::int64_t id, std::string why) {
  auto cut = streams_.cut_short(id, why);
  if (!cut || cut->end != StreamEnd::cut_short) co_return Result<void>{};  // it ended already
  spdlog::warn("stream {}: finished with the {} bytes it has, cut short: {}", id,
               cut->text.size(), why);
  // Its sender may show it ended before this write is done: a restart meanwhile finishes it
  // from the outbox as cut short all the same (an open stream there is).
  auto stored = co_await store_.outbox_stream_text(id, cut->text, cut->end);
  if (!stored) co_return stored.error();
  if (auto label = streams_.label(id)) log_.update_text(label->log_id, cut->text);
  co_return Result<void>{};
}

asio::awaitable<Result<std::int64_t>> Runtime::recall_message(std::int64_t id) {
  auto status = co_await store_.outbox_status(id);
  if (!status) co_return status.error();
  if (!*status) co_return Error{errc::not_found, "no message " + std::to_string(id)};
  if ((*status)->recall) {
    co_return Error{errc::invalid_argument, "message " + std::to_string(id) +
                                                " is a recall itself: there is nothing to take back"};
  }
  const bool any_sent_or_queued = std::any_of(
      (*status)->parts.begin(), (*status)->parts.end(),
      [](const OutboxPart& part) { return part.state != OutboxState::failed; });
  if (!any_sent_or_queued) {
    co_return Error{errc::invalid_argument,
                    "message " + std::to_string(id) + " failed and was never sent: there is "
                    "nothing to take back"};
  }
  Bot* bot = find((*status)->bot);
  if (bot == nullptr) {
    co_return Error{errc::not_found, "message " + std::to_string(id) + " is of bot '" +
                                         (*status)->bot + "', which is not configured"};
  }
  OutgoingMessage entry;
  entry.bot = bot->name;
  entry.chat_id = std::move((*status)->chat_id);
  entry.chat_type = (*status)->chat_type;
  entry.reply_context = std::move((*status)->reply_context);
  entry.recall = Recall{id, ""};
  co_return co_await queue_recall(*bot, std::move(entry));
}

asio::awaitable<Result<std::int64_t>> Runtime::recall_platform_message(
    OutgoingMessage where, std::string platform_message_id) {
  Bot* bot = find(where.bot);
  if (bot == nullptr) co_return Error{errc::not_found, "no bot named '" + where.bot + "'"};
  if (platform_message_id.empty()) {
    co_return Error{errc::invalid_argument, "no message id to take back"};
  }
  OutgoingMessage entry;
  entry.bot = bot->name;
  entry.chat_id = std::move(where.chat_id);
  entry.chat_type = where.chat_type;
  entry.reply_context = std::move(where.reply_context);
  entry.recall = Recall{0, std::move(platform_message_id)};
  co_return co_await queue_recall(*bot, std::move(entry));
}

asio::awaitable<Result<std::int64_t>> Runtime::queue_recall(Bot& bot, OutgoingMessage entry) {
  if (!bot.parts.sender->can_recall()) {
    co_return Error{errc::platform_rejected,
                    "bot '" + bot.name + "' cannot take messages back: " + bot.platform +
                        " has no way to do it for this kind of bot"};
  }
  entry.idempotency_key = "recall-" + new_event_id().substr(0, 24);
  LogEntry log_entry = MessageLog::outgoing(entry, bot.platform, "");
  std::vector<OutgoingMessage> one;
  one.push_back(std::move(entry));
  auto pushed = co_await store_.outbox_push_message(std::move(one), "");
  if (!pushed) co_return pushed.error();
  log_.add(std::move(log_entry));
  bot.outbox_pushed = true;
  bot.outbox_signal.notify();
  co_return pushed->id;
}

}  // namespace botgate
