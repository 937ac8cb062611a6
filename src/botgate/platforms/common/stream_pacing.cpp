#include "botgate/platforms/common/stream_pacing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace botgate::platforms {

asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point until) {
  if (std::chrono::steady_clock::now() >= until) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, until);
  // Cancelled only when the io_context stops: the caller's next feed.next() tells it.
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<Result<StreamSnapshot>> next_paced(
    StreamFeed& feed, std::uint64_t shown, std::chrono::steady_clock::time_point not_before) {
  auto changed = co_await feed.next(shown);
  if (!changed || std::chrono::steady_clock::now() >= not_before) co_return changed;
  co_await sleep_until(not_before);
  // Changed already, so this answers at once, with whatever came while we waited.
  co_return co_await feed.next(shown);
}

}  // namespace botgate::platforms
