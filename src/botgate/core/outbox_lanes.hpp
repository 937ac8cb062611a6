#pragma once
/// The outbox worker's lanes: the queued messages it holds in memory, one lane per chat, so that
/// each chat's messages go one at a time and in queue order while chats go at once. Plain data
/// and functions, without coroutines or a store: the outbox worker (core/runtime) drives them.
///
/// Thread safety: none; the bot's strand only.

#include "botgate/core/store.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_set>

namespace botgate {

/// The outbox worker's view of one chat: the messages read from the store and not yet done,
/// in queue order. Only the first is ever in flight.
struct Lane {
  std::deque<OutboxItem> items;
  bool sending = false;
  /// After a retryable failure of the first message: nothing of this chat goes before then.
  std::chrono::steady_clock::time_point held_until{};
  /// Messages of this chat were passed over in this scan of the store (lane_depth), so the
  /// lane takes no later ones from the scan: once it runs dry, it reads on by itself.
  bool truncated = false;
  /// Ran dry while truncated: the next turn of the worker reads its next messages.
  bool refill = false;
  /// The newest message this lane took; a refill reads on after it.
  std::int64_t last_id = 0;
};

/// The outbox worker's state, used only on the bot's strand.
struct OutboxLanes {
  std::size_t lane_depth = 0;  // RuntimeOptions::outbox_lane_depth
  std::size_t held_cap = 0;    // RuntimeOptions::outbox_held
  std::map<std::string, Lane> lanes;      // by OutgoingMessage::lane()
  std::unordered_set<std::int64_t> held;  // the ids of every message in a lane
  /// The highest id read in the current scan; the next read goes on after it. 0: the next read
  /// starts from the oldest message (and forgets which lanes were truncated).
  std::int64_t cursor = 0;
  /// The last read stopped at held_cap with more to read.
  bool more = false;
  /// A truncated lane ran dry: see Lane::refill.
  bool refill = false;
  /// Replies the inbox worker just queued, handed over so that they need not be read back.
  std::deque<OutboxItem> arrived;
  std::size_t in_flight = 0;
  /// Sent messages whose outcome the store is still writing: they stay in `held` until then, so
  /// that no read takes them for queued.
  std::size_t recording = 0;
  std::chrono::steady_clock::time_point last_full_scan{};
};

/// Puts `item` at the end of its chat's lane, as the reads and the hand-over both do; a lane
/// that holds lane_depth already, or passed messages over, takes none and is marked truncated
/// (it reads this chat's later messages itself once it runs dry).
void place_in_lane(OutboxLanes& box, OutboxItem& item);
/// Places the replies handed over by the inbox worker in their lanes, as a read of the store
/// would have. Only when no older message may wait unread: else they are left to the reads from
/// the cursor (they are in the store), which meet them in queue order. `unread`: a message was
/// queued since the last read, or that read failed.
void take_arrived(OutboxLanes& box, std::atomic<bool>& unread, bool read_failed);

}  // namespace botgate
