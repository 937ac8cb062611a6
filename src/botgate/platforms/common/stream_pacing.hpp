#pragma once
/// Pacing for senders that render a streamed reply (core/stream.hpp) by updating a platform
/// message: a platform takes a few updates a second at most, so a sender shows the stream as it
/// stands at its next allowed moment instead of each change, and changes that come faster merge.

#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>

namespace botgate::platforms {

/// Waits on the caller's executor until `until` (at once when it passed).
asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point until);

/// The stream as it stands once it changed since version `shown` (or ended) and `not_before`
/// came: every change until then in one snapshot. Errors as StreamFeed::next (errc::cancelled
/// when botgate stops).
asio::awaitable<Result<StreamSnapshot>> next_paced(StreamFeed& feed, std::uint64_t shown,
                                                   std::chrono::steady_clock::time_point not_before);

}  // namespace botgate::platforms
