#pragma once
/// Runtime's state per bot, shared by the files that make up Runtime: runtime.cpp (wiring,
/// lifecycle, callbacks and accepts), inbox_worker.cpp (the inbox: taking, per-chat lanes,
/// handlers, completion) and outbox_worker.cpp (the outbox: taking, per-chat lanes, sends, retries). Not part of
/// Runtime's interface: include it from those files only.

#include "botgate/core/inbox_lanes.hpp"
#include "botgate/core/inbox_path_guard.hpp"
#include "botgate/core/log_rate_limit.hpp"
#include "botgate/core/outbox_lanes.hpp"
#include "botgate/core/reply_waiters.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/core/wake_signal.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace botgate {

/// Events handled and not yet completed in the store, in the order they were handled.
struct Completing {
  std::vector<InboxCompletion> done;
  std::vector<LogEntry> queued;  // the log entries of their replies
  std::vector<std::string> guarded;  // the ids of those the bot's InboxPathGuard counts
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
  WakeSignal inbox_signal;
  WakeSignal outbox_signal;
  WakeSignal stop_signal;
  WakeSignal completion_signal;  // an event was handled, or a lane runner ended
  /// The events taken from the store and not completed, by chat (on the strand).
  InboxLanes inbox{1, 1};
  std::size_t inbox_concurrency = 1;
  /// Its events are handled before their accept commits, which queues their replies, and never
  /// enter the inbox (Handler::immediate_for, Store::accept_handled). Set at start.
  bool handles_at_accept = false;
  /// For such a bot whose callbacks may carry a reply in their answer: which chats have events
  /// in the inbox, whose later events follow them there. Null otherwise. Set at start.
  std::unique_ptr<InboxPathGuard> inbox_path_guard;
  std::size_t lane_runners = 0;  // run_lanes() coroutines running (on the strand)
  Completing completing;         // handled events waiting for their completion (on the strand)
  /// The timers of lane runners waiting to run the handlers on an event again (on the strand):
  /// stop() cancels them, so that a bot stops without waiting out a backoff.
  std::unordered_set<asio::steady_timer*> retry_sleepers;
  /// Set with outbox_signal when messages are queued: the outbox worker takes from the store.
  std::atomic<bool> outbox_pushed{true};
  /// The outbox worker takes from the store on its next turn: room was freed, or more may wait
  /// (on the strand).
  bool outbox_take_again = true;
  OutboxLanes outbox{1, 1};  // on the strand
  std::atomic<bool> ready{false};
  std::atomic<std::uint64_t> events_in{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> send_failures{0};
  std::atomic<std::uint64_t> delivery_uncertain{0};
  std::atomic<std::uint64_t> callbacks_rejected{0};
  std::atomic<std::uint64_t> handling_retries{0};
  std::atomic<std::uint64_t> dead_lettered{0};
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

}  // namespace botgate
