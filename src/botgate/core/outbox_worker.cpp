// Runtime's outbox side: queued messages taken from the store into per-chat lanes and sent,
// with retries and backoff (see runtime_bot.hpp for how Runtime is split).
#include "botgate/core/runtime_bot.hpp"

#include "botgate/core/outbox_stream_feed.hpp"
#include "botgate/core/send_decision.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate {
namespace {

using Clock = std::chrono::system_clock;
/// The outbox worker takes at most this many messages at a time (up to RuntimeOptions::
/// outbox_held in all).
constexpr std::size_t kOutboxTake = 256;
/// How long the worker waits before it asks a failing store again.
constexpr std::chrono::seconds kStoreRetry{1};
/// The longest the worker sleeps without a reason to wake.
constexpr std::chrono::seconds kIdleWait{60};
}  // namespace

asio::awaitable<void> Runtime::outbox_worker(Bot& bot) {
  using Steady = std::chrono::steady_clock;
  OutboxLanes& lanes = bot.outbox;
  const std::size_t concurrency = std::max<std::size_t>(options_.send_concurrency, 1);
  int prepare_attempt = 0;
  // The store is asked for messages only when some may have become takeable: at the start
  // (what a previous run left), when one was queued (outbox_pushed), when room was freed (a lane
  // finished, a record was written: take_again), when the store's next not-taken message comes
  // due (store_due), and after a failed take.
  std::optional<Steady::time_point> store_due;
  bool store_due_known = false;  // store_due was asked since the last take that gave messages
  bool store_failed = false;
  Steady::time_point last_take{};
  while (!stopping_) {
    if (!bot.ready) {
      if (lanes.in_flight() > 0) {
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

    if (bot.outbox_pushed.exchange(false)) bot.outbox_take_again = true;
    if (store_due && Steady::now() >= *store_due) {
      store_due.reset();
      bot.outbox_take_again = true;
    }
    // And once in a while anyway: a wake-up missed costs at most this long.
    if (Steady::now() - last_take >= kIdleWait) bot.outbox_take_again = true;
    if (bot.outbox_take_again && lanes.room() > 0) {
      bot.outbox_take_again = false;
      store_failed = false;
      last_take = Steady::now();
      const SystemTime now = Clock::now();
      const std::size_t limit = std::min(lanes.room(), kOutboxTake);
      auto taken = co_await store_.outbox_take(bot.name, now, limit, lanes.lane_depth());
      if (!taken) {
        spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, taken.error().message());
        store_failed = true;
      } else if (!taken->empty()) {
        store_due_known = false;
        // More may wait when the take was full; else their sends' ends take again.
        bot.outbox_take_again = taken->size() == limit;
        lanes.add(std::move(*taken));
      } else if (!co_await ask_store_due(bot, now, store_due)) {
        store_failed = true;
      } else {
        store_due_known = true;
      }
      if (store_failed) bot.outbox_take_again = true;
    }

    // Start the first message of each idle chat, oldest first, up to the concurrency.
    const auto now = Steady::now();
    if (bot.ready && lanes.in_flight() < concurrency) {
      for (std::string& key : lanes.start(now, concurrency - lanes.in_flight())) {
        asio::co_spawn(bot.strand, send_in_lane(bot, std::move(key)),
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
    if (!store_failed && bot.outbox_take_again && lanes.room() > 0) continue;
    if (!bot.ready && lanes.in_flight() == 0) continue;
    if (!store_due_known && lanes.in_flight() == 0 && !store_failed) {
      // No send will wake the worker: the store's next due time must (a retry a previous run
      // left, behind the messages this run took).
      store_due_known = co_await ask_store_due(bot, Clock::now(), store_due);
      if (!store_due_known) {
        store_failed = true;
        bot.outbox_take_again = true;  // after kStoreRetry
      }
    }
    // Wait for a send to end, a message to be queued, a chat's retry time, the store's next due
    // time, or stop().
    auto deadline = now + kIdleWait;
    if (auto retry = lanes.next_retry(now)) deadline = std::min(deadline, *retry);
    if (store_due) deadline = std::min(deadline, *store_due);
    if (store_failed) deadline = std::min(deadline, now + kStoreRetry);
    co_await bot.outbox_signal.wait_until(deadline);
  }
  // Nothing accepted is lost: what is not sent stays queued in the store. The sends in flight
  // end first, since they use this bot and this runtime.
  while (lanes.in_flight() > 0 || lanes.recording() > 0) {
    co_await bot.outbox_signal.wait_for(std::chrono::seconds(1));
  }
}

asio::awaitable<bool> Runtime::ask_store_due(
    Bot& bot, SystemTime now, std::optional<std::chrono::steady_clock::time_point>& store_due) {
  // A message not due yet (a retry a previous run left) wakes the worker when it comes due; one
  // due but not taken waits for room (a lane at its depth, the worker full), which a finished
  // send makes.
  auto next = co_await store_.outbox_next_due(bot.name);
  store_due.reset();
  if (!next) {
    spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, next.error().message());
    co_return false;
  }
  if (*next && **next > now) {
    const auto in = std::chrono::duration_cast<std::chrono::milliseconds>(**next - now);
    store_due = std::chrono::steady_clock::now() +
                std::min<std::chrono::milliseconds>(in, kIdleWait);
  }
  co_return true;
}

asio::awaitable<void> Runtime::send_in_lane(Bot& bot, std::string key) {
  OutboxLanes& lanes = bot.outbox;
  // The lane's first message stays first and in place while it is sent (see OutboxLanes::front).
  const OutboxItem& item = lanes.front(key);
  const std::int64_t id = item.id;
  Attempt attempt = co_await deliver(bot, item);
  if (attempt.outcome == Attempt::retry) {
    // The chat's later messages wait with it; other chats go on.
    lanes.retry(key, std::chrono::steady_clock::now() + attempt.retry_in);
  } else {
    const bool sent = attempt.outcome == Attempt::sent;
    lanes.finish(key, /*recording=*/sent);
    if (sent) {
      // The chat's next message need not wait for this outcome to be written: the platform has
      // this one already. Written alone, one small commit per reply was a fifth of a gateway
      // event's CPU; in the background it shares the store's next round with the other writes.
      asio::co_spawn(bot.strand, record_sent(bot, id, std::move(attempt.platform_id)),
                     [name = bot.name](std::exception_ptr e) {
                       if (!e) return;
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         spdlog::critical("bot {}: recording a sent message stopped on a bug: {}",
                                          name, ex.what());
                       }
                     });
    }
    // The store lets this chat have one more out, and the worker has room for one more.
    bot.outbox_take_again = true;
  }
  bot.outbox_signal.notify();
}

asio::awaitable<Result<SentMessage>> Runtime::carry_out_recall(Bot& bot,
                                                               const OutgoingMessage& entry) {
  const Recall& recall = *entry.recall;
  std::vector<std::string> platform_ids;
  if (recall.message == 0) {
    platform_ids.push_back(recall.platform_message_id);
  } else {
    // The message went before this recall in the chat's lane, but the record that it was sent
    // may still be on its way to the store (record_sent runs behind the lane): it gets a moment.
    asio::steady_timer pause(bot.strand);
    for (int i = 0; i < 200 && bot.outbox.recording() > 0; ++i) {
      pause.expires_after(std::chrono::milliseconds(10));
      co_await pause.async_wait(asio::use_awaitable);
    }
    const std::string what = "message " + std::to_string(recall.message);
    auto status = co_await store_.outbox_status(recall.message);
    if (!status) co_return status.error();
    if (!*status) {
      co_return Error{errc::platform_rejected, what + " is not in the outbox (any more)"};
    }
    for (const OutboxPart& part : (*status)->parts) {
      if (part.state == OutboxState::queued) {
        co_return Error{errc::platform_unavailable, what + " is not sent yet"};
      }
      if (part.state == OutboxState::sent && !part.platform_message_id.empty()) {
        platform_ids.push_back(part.platform_message_id);
      }
    }
    if (platform_ids.empty()) {
      co_return Error{errc::platform_rejected,
                      what + " was never sent (or the platform gave it no id): nothing to take back"};
    }
  }
  // A part already taken back counts as done (Sender::recall), so a retry after a failure
  // halfway starts from the first part again without harm.
  for (const std::string& platform_id : platform_ids) {
    auto done = co_await bot.parts.sender->recall(entry, platform_id);
    if (!done) co_return done.error();
  }
  co_return SentMessage{};
}

asio::awaitable<Runtime::Attempt> Runtime::deliver(Bot& bot, const OutboxItem& item) {
  // Two statements, not a conditional expression: GCC 12 corrupts the frame of a co_await on
  // either arm of `?:`.
  Result<SentMessage> sent = SentMessage{};
  if (item.message.recall) {
    sent = co_await carry_out_recall(bot, item.message);
  } else if (item.message.stream) {
    sent = co_await deliver_stream(bot, item);
  } else {
    sent = co_await bot.parts.sender->send(item.message);
  }
  if (sent && item.message.recall) {
    spdlog::info("bot {}: recall {} done in chat {}", bot.name, item.id, item.message.chat_id);
  } else if (sent) {
    ++bot.messages_sent;
    spdlog::info("bot {}: message {} sent to chat {} (platform id {})", bot.name, item.id,
                 item.message.chat_id, sent->platform_message_id);
  }
  if (!sent && item.message.stream && stopping_ && sent.error().is(errc::cancelled)) {
    // Left queued in the store, unrecorded: the next run finishes it from there.
    spdlog::info("bot {}: stream {} is left to the next run to finish", bot.name, item.id);
    co_return Attempt{Attempt::done};
  }
  std::string stream_note;
  if (item.message.stream) {
    if (auto live = streams_.snapshot(item.id)) {
      if (live->end == StreamEnd::cut_short) {
        const std::string why = streams_.cut_reason(item.id);
        stream_note = "cut short: " + (why.empty() ? std::string("its producer stalled") : why);
      }
      if (auto label = streams_.label(item.id)) {
        log_.update_text(label->log_id, live->text);
      }
    }
  }
  if (sent) {
    if (item.message.stream) streams_.forget(item.id);
    log_.delivery(item.message, bot.platform, LogOutcome::sent, stream_note, item.attempts + 1);
    Attempt done{Attempt::sent};
    done.platform_id = std::move(sent->platform_message_id);
    co_return done;
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
    if (item.message.stream) streams_.forget(item.id);
    log_.delivery(item.message, bot.platform, LogOutcome::failed, error.message(), attempt);
    co_return Attempt{Attempt::done};
  }
  if (decision.kind == SendDecision::failed) {
    ++bot.send_failures;
    spdlog::error("bot {}: message {} to chat {} failed after {} attempt(s): {}", bot.name,
                  item.id, item.message.chat_id, attempt, error.message());
    bot.set_error(error.message());
    (void)co_await store_.outbox_failed(item.id, error.message());
    if (item.message.stream) streams_.forget(item.id);
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

asio::awaitable<Result<SentMessage>> Runtime::deliver_stream(Bot& bot, const OutboxItem& item) {
  if (!streams_.snapshot(item.id)) {
    // Queued by an earlier run: its producer went with it. It ends with the text it had.
    StreamSnapshot start{item.stream.text, item.stream.end, 1};
    if (start.end == StreamEnd::open) {
      start.end = StreamEnd::cut_short;
      spdlog::warn("bot {}: stream {} was open when botgate stopped: finished with the {} bytes "
                   "it had, cut short",
                   bot.name, item.id, start.text.size());
      auto stored = co_await store_.outbox_stream_text(item.id, start.text, start.end);
      if (!stored) co_return stored.error();
    }
    StreamHub::Label label{bot.name, "out:" + item.message.idempotency_key};
    streams_.open(item.id, std::move(start), std::move(label), item.stream.progress);
  }
  OutboxStreamFeed feed(streams_, store_, item.id, options_.stream_stall, stopping_);
  co_return co_await bot.parts.sender->send_stream(item.message, feed);
}

asio::awaitable<void> Runtime::record_sent(Bot& bot, std::int64_t id, std::string platform_id) {
  auto recorded = co_await store_.outbox_sent(id, std::move(platform_id));
  if (!recorded) {
    // It stays queued and taken in the store: not sent again by this run, but sent again after
    // a restart, the same as when the process stops between the send and this write.
    spdlog::error("bot {}: message {} was sent but the store could not record it (it stays "
                  "queued and is sent again after a restart): {}",
                  bot.name, id, recorded.error().message());
  }
  bot.outbox.recorded();
  bot.outbox_take_again = true;
  bot.outbox_signal.notify();
}

}  // namespace botgate
