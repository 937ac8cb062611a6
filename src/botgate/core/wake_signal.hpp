#pragma once
/// The runtime's wake-up primitive: how a worker coroutine sleeps until there is work.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace botgate {

namespace asio = boost::asio;

/// A wake-up flag for a worker: notify() from any thread, wait() on the worker's strand. A
/// notify before the wait is not lost.
class WakeSignal {
 public:
  explicit WakeSignal(asio::any_io_executor strand) : strand_(strand), timer_(strand) {}

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
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
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

}  // namespace botgate
