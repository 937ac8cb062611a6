#pragma once
/// A bot's inbox as its inbox worker holds it: the events taken from the store and not yet
/// completed, in one lane per chat. Each chat's events are handled in order, one at a time;
/// different chats at once, up to a limit, so that one slow handler (a forward to an LLM that
/// takes a minute) holds up its own chat only. The outbox does the same for replies.
///
/// A plain class, without coroutines or a store: the inbox worker drives it.
///   add(taken events) -> start_lane() -> next(lane)... until dry -> completed(count)
///
/// Thread safety: none; used on the bot's strand only.

#include "botgate/core/store.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate {

class InboxLanes {
 public:
  /// `concurrency`: how many lanes run at once (at least one). `capacity`: how many events may be
  /// held at once, from their take until their completion is stored (at least one).
  InboxLanes(std::size_t concurrency, std::size_t capacity);

  /// How many more events may be taken now.
  std::size_t room() const noexcept;
  /// Adds events taken from the store, oldest first, each to the end of its chat's lane.
  void add(std::vector<InboxItem> items);

  /// A lane to run: of the lanes that wait with events, the one whose first event is the
  /// oldest, while fewer than `concurrency` lanes run; nullopt otherwise. It runs from now on.
  std::optional<std::string> start_lane();
  /// The next event of running lane `lane`; nullopt when it has none left, and then the lane
  /// no longer runs.
  std::optional<InboxItem> next(const std::string& lane);
  /// Stops running lane `lane` before it ran dry (the bot stops): its events are dropped here;
  /// the store keeps them for the next start.
  void abandon(const std::string& lane);
  /// `count` handled events were completed in the store: they are no longer held.
  void completed(std::size_t count);

  /// Lanes running now.
  std::size_t running() const noexcept { return running_; }
  /// Events taken and not yet completed (waiting, being handled, or waiting for completion).
  std::size_t held() const noexcept { return held_; }
  /// Whether a lane waits to run.
  bool has_waiting() const noexcept { return !waiting_.empty(); }

 private:
  struct Lane {
    std::deque<InboxItem> items;
    bool running = false;
  };
  std::size_t concurrency_;
  std::size_t capacity_;
  std::unordered_map<std::string, Lane> lanes_;
  /// Lanes with events that do not run, in the order they got their first event: the oldest
  /// first, as events are added in store order.
  std::deque<std::string> waiting_;
  std::size_t running_ = 0;
  std::size_t held_ = 0;
};

}  // namespace botgate
