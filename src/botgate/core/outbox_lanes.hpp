#pragma once
/// A bot's outbox as its outbox worker holds it: the messages taken from the store
/// (Store::outbox_take) and not yet done, one lane per chat, so that each chat's messages go one
/// at a time and in queue order while chats go at once. A retry holds its own chat only: the
/// message stays first in its lane until its time comes.
///
/// A plain class, without coroutines or a store: the outbox worker drives it.
///   add(taken) -> start(now, n) -> front(lane), sent/retry/failed -> finish(lane...) -> recorded()
///
/// Thread safety: none; used on the bot's strand only.
///
/// Up to 8,192 messages are held (RuntimeOptions::outbox_held), often in thousands of chats,
/// and start() runs after every send: the lanes that may go are kept in order (`ready_`, by
/// their first message's id) and the ones waiting for a retry by time (`waiting_`), so a call
/// costs O(log n) per lane it touches rather than a pass over every lane.

#include "botgate/core/store.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace botgate {

class OutboxLanes {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// `lane_depth`: how many messages of one chat may be held (RuntimeOptions::outbox_lane_depth,
  /// the lane_limit of the takes); `capacity`: how many in all (RuntimeOptions::outbox_held).
  /// Both at least one.
  OutboxLanes(std::size_t lane_depth, std::size_t capacity);

  std::size_t lane_depth() const noexcept { return lane_depth_; }
  /// How many more messages may be taken now: a sent message counts until its record is written,
  /// as the store counts it out until then.
  std::size_t room() const noexcept;
  /// Adds messages taken from the store, in queue order, each to the end of its chat's lane.
  void add(std::vector<OutboxItem> items);

  /// Marks sending, and returns, the idle lanes whose first message may go at `now` (no retry
  /// time ahead), the oldest first message first, up to `max` of them.
  std::vector<std::string> start(TimePoint now, std::size_t max);
  /// The first message of lane `lane`, the one being sent. The reference stays valid until
  /// the lane is finished (later messages may be added meanwhile).
  const OutboxItem& front(const std::string& lane) const;
  /// The send of lane `lane` ended; its first message is tried again at `at` (one attempt more),
  /// and nothing of this chat goes before then.
  void retry(const std::string& lane, TimePoint at);
  /// The send of lane `lane` ended and its first message is done with: failed, or sent
  /// (`recording`: its outcome is being written, see recorded()). The lane's next message may go.
  void finish(const std::string& lane, bool recording);
  /// A sent message's outcome was written (or could not be): it is no longer held.
  void recorded();

  /// When the earliest retry time after `now` of a lane that does not send comes, if any (a
  /// lane whose time has come waits for a free send slot instead).
  std::optional<TimePoint> next_retry(TimePoint now) const;
  /// Sends in flight (lanes sending).
  std::size_t in_flight() const noexcept { return in_flight_; }
  /// Sent messages whose outcome is still being written.
  std::size_t recording() const noexcept { return recording_; }
  /// Messages in lanes (in flight, waiting for a retry, or waiting behind one) and recording.
  std::size_t held() const noexcept { return queued_ + recording_; }

 private:
  // A lane with messages is in exactly one state: sending, ready (in ready_) or waiting (in
  // waiting_, its first message's retry time ahead). An empty one that does not send is erased.
  struct Lane {
    std::deque<OutboxItem> items;  // in queue order; only the first is ever in flight
    bool sending = false;
    bool waiting = false;
  };
  using Lanes = std::map<std::string, Lane>;  // node-based: keys and front() stay put
  void make_ready(Lanes::iterator it);
  void erase_if_done(Lanes::iterator it);

  std::size_t lane_depth_;
  std::size_t capacity_;
  Lanes lanes_;  // by OutgoingMessage::lane()
  std::set<std::pair<std::int64_t, const std::string*>> ready_;  // (first message's id, lane)
  std::multimap<TimePoint, const std::string*> waiting_;          // (retry time, lane)
  std::size_t queued_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t recording_ = 0;
};

}  // namespace botgate
