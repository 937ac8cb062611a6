#pragma once
/// The fate of one OneBot event offered to several framework connections at once: it counts as
/// delivered as soon as one of them has written it, and as refused once all have failed. The
/// event's handler waits on its bot's strand; each connection reports from its own executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <memory>

namespace botgate::onebot {

namespace asio = boost::asio;

/// Thread safety: settle() from any thread; offer() and wait() on the strand given at
/// construction. Held by shared_ptr: a connection may settle after the waiter has gone.
class Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  explicit Delivery(asio::any_io_executor strand) : strand_(strand), timer_(strand) {}

  /// One more connection has the event in its queue (before wait()).
  void offer() { ++offered_; }
  /// A connection wrote the event (`written`) or dropped it (closed before writing it).
  void settle(bool written);
  /// True as soon as one offer was written; false once every offer failed (or there was none).
  asio::awaitable<bool> wait();

 private:
  asio::any_io_executor strand_;
  asio::steady_timer timer_;
  std::size_t offered_ = 0;  // on the strand, as the two below
  std::size_t failed_ = 0;
  bool written_ = false;
};

}  // namespace botgate::onebot
