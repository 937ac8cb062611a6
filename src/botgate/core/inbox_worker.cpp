// Runtime's inbox side: events taken from the store into per-chat lanes, handled, and completed
// with their replies queued (see runtime_bot.hpp for how Runtime is split).
#include "botgate/core/runtime_bot.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate {
namespace {

/// Handled inbox items wait at most this long for others to share their store transaction.
constexpr std::chrono::milliseconds kCompleteWindow{2};
/// The inbox worker takes this many events at a time: under a backlog they are completed in one
/// transaction (every 2 ms), and the replies they queue touch each chat's place in the outbox's
/// lane index once per transaction, not once per 64 events (Discord flood, 64 -> 256: 2.6 ->
/// 1.8 SQLite pages written per event).
constexpr std::size_t kInboxBatch = 256;
/// How long the inbox worker waits to learn whether a callback's answer carrying a reply was
/// written. A write of that small answer ends at once, unless the connection is gone; the
/// platforms that wait for such an answer give up after 3 s (Discord).
constexpr std::chrono::milliseconds kInlineWriteWait{3000};
/// A handler asking to be tried again at once still waits this long: a failing service is not
/// called in a tight loop.
constexpr std::chrono::milliseconds kLeastRetryWait{100};
}  // namespace

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
      if (bot.inbox_path_guard) bot.inbox_path_guard->taken(*items, !full_page);
      lanes.add(std::move(*items));
    }
    // One runner per lane that may start: each handles its chat's events in order, then the
    // next waiting chat's, until none waits. co_spawn may run a runner at once, on this strand,
    // up to its first wait, and one that finds the bot stopping ends there: counted from
    // lane_runners as it changes, this loop spun forever without yielding (a hang at SIGTERM).
    // So the number to start is fixed before the first.
    const std::size_t may_start =
        bot.inbox_concurrency > bot.lane_runners ? bot.inbox_concurrency - bot.lane_runners : 0;
    for (std::size_t started = 0; started < may_start && !stopping_ && lanes.has_waiting();
         ++started) {
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
  ChainOutcome outcome;
  // Never answer ourselves or other bots: two bots echoing each other would never stop.
  while (!event.sender.is_bot) {
    outcome = co_await chain_.run(event, item.attempts + 1, item.accepted_at, this);
    if (outcome.result != HandlerResult::retry) break;
    ++item.attempts;
    ++bot.handling_retries;
    const auto wait = std::max(outcome.retry_after, kLeastRetryWait);
    spdlog::warn("bot {}: event {} not handled (attempt {}): {}; trying again in {} ms",
                 bot.name, event.id, item.attempts, outcome.failure, wait.count());
    // Counted in the store, so that a limit on attempts holds across restarts. If that fails
    // the event is still tried again: a lost count means an attempt more, not a lost event.
    if (auto recorded = co_await store_.inbox_retry(item.id, outcome.failure); !recorded) {
      spdlog::warn("bot {}: cannot record the attempt on event {}: {}", bot.name, event.id,
                   recorded.error().message());
    }
    if (!co_await sleep_unless_stopping(bot, wait)) co_return;  // it stays in the inbox
  }
  if (outcome.result == HandlerResult::give_up) {
    co_await dead_letter(bot, item, outcome.failure);
    co_return;
  }
  if (outcome.replies.empty() && !outcome.streamed && !outcome.answers_later) {
    bot.parts.sender->no_reply(event);
  }
  std::vector<OutgoingMessage> replies = replies_for(bot, event, std::move(outcome.replies));
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
  if (bot.inbox_path_guard) bot.completing.guarded.push_back(event.id);
  InboxCompletion completion{item.id, std::move(replies)};
  if (outcome.answers_later) {
    completion.keep_reply_ref = true;
    completion.event_id = event.id;
  }
  bot.completing.done.push_back(std::move(completion));
  bot.completion_signal.notify();
}

asio::awaitable<bool> Runtime::sleep_unless_stopping(Bot& bot, std::chrono::milliseconds wait) {
  if (stopping_) co_return false;
  asio::steady_timer timer(bot.strand, wait);
  bot.retry_sleepers.insert(&timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  bot.retry_sleepers.erase(&timer);
  co_return !stopping_;
}

asio::awaitable<void> Runtime::dead_letter(Bot& bot, const InboxItem& item,
                                           const std::string& reason) {
  while (true) {
    auto id = co_await store_.inbox_dead_letter(item.id, reason);
    if (id) {
      spdlog::error("bot {}: event {} given up after {} attempt(s) and kept as dead letter {}: "
                    "{}",
                    bot.name, item.event.id, item.attempts + 1, *id, reason);
      ++bot.dead_lettered;
      if (bot.inbox_path_guard) bot.inbox_path_guard->left(item.event.id);
      bot.inbox.completed(1);
      bot.inbox_signal.notify();  // room for more
      co_return;
    }
    if (id.error().is(errc::not_found)) {
      // It left the inbox meanwhile: another instance serves its chat now and handles it (on a
      // store shared by several instances). Nothing is left to keep, nor to try again.
      spdlog::warn("bot {}: event {} is no longer in the inbox; not kept as a dead letter",
                   bot.name, item.event.id);
      if (bot.inbox_path_guard) bot.inbox_path_guard->left(item.event.id);
      bot.inbox.completed(1);
      bot.inbox_signal.notify();
      co_return;
    }
    spdlog::error("bot {}: cannot keep event {} as a dead letter: {}", bot.name, item.event.id,
                  id.error().message());
    // The event stays in the inbox meanwhile; a failing store is not hammered.
    if (!co_await sleep_unless_stopping(bot, std::chrono::seconds(1))) co_return;
  }
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
    std::vector<std::string> guarded = std::move(pending.guarded);
    pending.done.clear();
    pending.queued.clear();
    pending.guarded.clear();
    const std::size_t count = done.size();
    if (co_await complete(bot, done, queued)) {
      // Only now may the chats' later events be handled at their accept: their replies queue
      // after these.
      for (const std::string& event_id : guarded) bot.inbox_path_guard->left(event_id);
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
    for (std::string& event_id : pending.guarded) guarded.push_back(std::move(event_id));
    pending.done = std::move(done);
    pending.queued = std::move(queued);
    pending.guarded = std::move(guarded);
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
    bot.outbox_pushed = true;
    bot.outbox_signal.notify();
  }
  co_return true;
}

}  // namespace botgate
