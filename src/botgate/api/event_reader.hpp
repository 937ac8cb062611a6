#pragma once
/// One stream client's reading of the event log: from the feed in memory while it keeps up,
/// from the store by cursor while it is behind (EventFeed's window), waiting on the feed when it
/// has everything. Shared by the server-sent events and the WebSocket halves of
/// GET /api/v1/events.

#include "botgate/core/event_feed.hpp"
#include "botgate/core/runtime.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace botgate::api {

namespace asio = boost::asio;

/// Thread safety: one client's, on its connection's executor (stop() too).
class EventReader {
 public:
  /// How many events one next() gives at most.
  static constexpr std::size_t kBatch = 256;

  /// Reads the events after cursor `after` that `filter` matches. Once it has given all the
  /// feed had, the next batch comes in a round of the runtime's WakeRounds: events that came
  /// meanwhile go together.
  EventReader(Runtime& runtime, asio::any_io_executor executor, EventFilter filter,
              std::int64_t after);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  /// The next events in cursor order (at most a batch). Empty when `deadline` passed with
  /// none (time for a heartbeat) or after stop(); an error when the store failed.
  asio::awaitable<Result<std::vector<EventFeed::Entry>>> next(
      std::chrono::steady_clock::time_point deadline);
  /// Ends the current and every later next() (empty). Idempotent.
  void stop();
  bool stopped() const noexcept { return stopped_; }
  /// What delivering a batch took on this thread beyond reading it (formatting it, the write's
  /// system call; never a wait for the client), for the rounds' pacing (WakeRounds::spent).
  void spent(std::chrono::steady_clock::duration time);


 private:
  /// What a wake-up from the feed (on another thread) may still reach after this is gone.
  struct Shared {
    explicit Shared(asio::any_io_executor executor) : timer(std::move(executor)) {}
    asio::steady_timer timer;
  };

  /// Waits for a matching event after the position, given in a round (or the deadline, or
  /// stop()). False when the deadline had passed already.
  asio::awaitable<bool> wait(std::chrono::steady_clock::time_point deadline);
  /// Asks `rounds` for a wake-up of `reader`'s wait, if it is still there.
  static void wake_in_round(WakeRounds& rounds, std::weak_ptr<Shared> reader);

  Runtime& runtime_;
  asio::any_io_executor executor_;
  EventFilter filter_;  // outlives every wait (cancelled before it goes)
  std::int64_t position_;  // the last cursor looked at
  std::shared_ptr<Shared> shared_;
  std::uint64_t wait_id_ = 0;
  bool stopped_ = false;
  /// The last next() gave every matching event the feed had: the next one starts by waiting.
  bool caught_up_ = false;
  /// What the last wait gathered, for the next next(); whether it is all up to the position.
  std::vector<EventFeed::Entry> ready_;
  bool ready_complete_ = true;
};

}  // namespace botgate::api
