#include "botgate/onebot/delivery.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace botgate::onebot {

void Delivery::settle(bool written) {
  asio::post(strand_, [self = shared_from_this(), written] {
    if (written) {
      self->written_ = true;
    } else {
      ++self->failed_;
    }
    self->timer_.cancel();
  });
}

asio::awaitable<bool> Delivery::wait() {
  // The state is read and changed on the strand only, so a settle() cannot slip between the
  // check and the wait: it runs before the check or wakes the wait.
  while (!written_ && failed_ < offered_) {
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return written_;
}

}  // namespace botgate::onebot
