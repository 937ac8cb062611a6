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
  /// A client that keeps up gets at most one batch per this interval: an event that comes
  /// sooner after the last batch waits for the rest of it and goes with those that came
  /// meanwhile. Each batch is a write to the client's socket (on loopback, the receiver's TCP
  /// work too), the event stream's largest cost to ingress on the same core; 50 ms is far
  /// below what a person or a bot's logic notices, and a client whose chat is quiet gets its
  /// next event at once.
  static constexpr std::chrono::milliseconds kMinInterval{50};

  /// Reads the events after cursor `after` that `filter` matches, a batch at most every
  /// `min_interval` while they come fast (kMinInterval).
  EventReader(Runtime& runtime, asio::any_io_executor executor, EventFilter filter,
              std::int64_t after, std::chrono::milliseconds min_interval = kMinInterval);
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


 private:
  /// What a wake-up from the feed (on another thread) may still reach after this is gone.
  struct Shared {
    explicit Shared(asio::any_io_executor executor) : timer(std::move(executor)) {}
    asio::steady_timer timer;
    std::int64_t woken_by = 0;  // the cursor of the event that woke the wait
  };

  /// Waits for a matching event after the position (or the deadline, or stop()). False when
  /// the deadline had passed already.
  asio::awaitable<bool> wait(std::chrono::steady_clock::time_point deadline);
  /// After a wake-up: waits out the rest of kMinInterval since the last batch.
  asio::awaitable<void> pace();

  Runtime& runtime_;
  asio::any_io_executor executor_;
  EventFilter filter_;  // outlives every wait (cancelled before it goes)
  std::int64_t position_;  // the last cursor looked at
  std::shared_ptr<Shared> shared_;
  std::uint64_t wait_id_ = 0;
  bool stopped_ = false;
  /// The last next() gave every matching event the feed had: the next one starts by waiting.
  bool caught_up_ = false;
  /// When the next batch may be given, once woken (kMinInterval after the last one).
  std::chrono::steady_clock::time_point not_before_{};
  std::chrono::milliseconds min_interval_;
};

}  // namespace botgate::api
