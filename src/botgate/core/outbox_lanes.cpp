#include "botgate/core/outbox_lanes.hpp"

#include <algorithm>

namespace botgate {

/// Puts `item` at the end of its chat's lane, as the reads and the hand-over both do; a lane
/// that holds lane_depth already, or passed messages over, takes none and is marked truncated
/// (it reads this chat's later messages itself once it runs dry).
void place_in_lane(OutboxLanes& box, OutboxItem& item) {
  Lane& lane = box.lanes[item.message.lane()];
  if (lane.truncated || lane.refill || lane.items.size() >= box.lane_depth) {
    lane.truncated = true;
    return;
  }
  box.held.insert(item.id);
  lane.last_id = std::max(lane.last_id, item.id);
  lane.items.push_back(std::move(item));
}

/// Places the replies handed over by the inbox worker in their lanes, as a read of the store
/// would have. Only when no older message may wait unread: else they are left to the reads from
/// the cursor (they are in the store), which meet them in queue order. `unread`: a message was
/// queued since the last read, or that read failed.
void take_arrived(OutboxLanes& box, std::atomic<bool>& unread, bool read_failed) {
  if (box.arrived.empty()) return;
  if (box.more || read_failed || unread) {
    box.arrived.clear();
    unread = true;
    return;
  }
  for (OutboxItem& item : box.arrived) {
    if (box.held.contains(item.id)) continue;  // a read met it first
    if (box.held.size() >= box.held_cap) {
      box.more = true;  // this one and the rest: the reads go on from the cursor
      continue;
    }
    place_in_lane(box, item);
  }
  box.arrived.clear();
}

}  // namespace botgate
