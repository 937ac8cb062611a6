#pragma once
/// The live side of the event stream: the newest logged events in memory, shared by every
/// stream client, so that a client that keeps up is fed without reading the store.
///
/// The store tells the feed each event it logged, after the commit, in cursor order
/// (Store::watch_events). publish() appends it to a window of the last `capacity` events and
/// wakes the clients waiting for one their filter matches: O(1) for the window, one filter
/// check per waiting client of that chat (or of no chat), never a wait and never a copy per
/// client. Each client holds only its position (the last cursor it has looked at). The window
/// is every client's bounded queue at once: a client whose position has left it (it read too
/// slowly, or came back with an old cursor) is told it is `behind` and reads from the store by
/// cursor until it is back in the window. So a slow client loses nothing the store keeps and
/// costs the publisher nothing.
///
/// Thread safety: every method may be called from any thread; one mutex guards the window and
/// the waiting clients. Wake-ups are called outside it, on the publishing thread.

#include "botgate/core/store.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate {

class EventFeed {
 public:
  using Entry = std::shared_ptr<const LoggedEvent>;

  /// What read() found after a position.
  struct Batch {
    /// Matching events after the position, in cursor order (empty when `behind`).
    std::vector<Entry> events;
    /// The position to read from next: the last cursor looked at (matching or not).
    std::int64_t next_after = 0;
    /// Events after the position have left the window (or were logged before the feed
    /// started): read them from the store (Store::events_after), up to `window_floor`.
    bool behind = false;
    /// Every event with a cursor above this is in the window or yet to come. A store read that
    /// started after this was taken and returned less than its limit has given every matching
    /// event up to it.
    std::int64_t window_floor = 0;
  };

  /// `capacity`: how many of the newest events are kept (at least 1). `head`: the last cursor
  /// the store gave before the feed was told of any (Store::watch_events' answer): events up
  /// to it are read from the store.
  explicit EventFeed(std::size_t capacity = 4096, std::int64_t head = 0);

  /// Sets the head before any publish (when the store is watched after the feed is made).
  void start_at(std::int64_t head);

  /// A logged event, after its commit; cursors grow from call to call (the store's order).
  void publish(LoggedEvent event);

  /// The last cursor published (or the head the feed started at).
  std::int64_t head() const;

  /// Up to `limit` events after `after` that `filter` matches.
  Batch read(std::int64_t after, const EventFilter& filter, std::size_t limit) const;

  /// What a woken wait keeps for its reader at most: past it, the reader reads on by cursor.
  static constexpr std::size_t kWaitKeeps = 1024;

  /// Asks to be woken (`wake(cursor)`, called once, on the publishing thread, outside the
  /// feed's lock) when an event after `after` that `filter` matches is published; `cursor` is
  /// that event's, and no event between `after` and it matched. The wait stays until end_wait()
  /// and keeps every matching event published meanwhile (up to kWaitKeeps): a reader woken in a
  /// round gets them without scanning the window, however far the window moved on. Returns 0
  /// without registering when one is there already (or `after` is behind the window): read()
  /// again. The filter must live until the wait ends.
  std::uint64_t wait(std::int64_t after, const EventFilter& filter,
                     std::function<void(std::int64_t cursor)> wake);

  /// What a wait gathered, given when it ends.
  struct WaitEnd {
    /// The matching events published since the wait began, in cursor order.
    std::vector<Entry> events;
    /// The reader may go on from here: every event after the wait's `after` up to this cursor
    /// that matched is in `events` (none matched: the feed's head, so that a client following a
    /// quiet chat never falls behind the window while other chats are busy). When more matched
    /// than a wait keeps, the last event kept. 0 for a wait that is not there.
    std::int64_t through = 0;
    /// More matched than the wait keeps: read on from `through`.
    bool more = false;
  };
  /// Ends a wait, woken or not.
  WaitEnd end_wait(std::uint64_t id);

  /// Waits registered now (for tests and the status view).
  std::size_t waiting() const;
  /// Events published since the feed started.
  std::uint64_t published() const;

 private:
  struct Waiter {
    const EventFilter* filter;
    std::function<void(std::int64_t)> wake;
    std::size_t slot = 0;  // its place in its list of the index
    bool woken = false;
    bool overflowed = false;  // more matched than it keeps
    std::vector<Entry> events = {};
  };
  /// Under the lock: the first index in the window with a cursor above `after`.
  std::size_t first_after(std::int64_t after) const;
  /// Under the lock: true when a matching event after `after` is in the window.
  bool has_match_after(std::int64_t after, const EventFilter& filter) const;
  /// Under the lock: gives `entry` to the waiters of `ids` it matches, and the wake-ups of those
  /// not woken yet (into `woken`).
  void offer(const std::vector<std::uint64_t>& ids, const Entry& entry,
             std::vector<std::function<void(std::int64_t)>>& woken);
  /// Under the lock: the index list that waiter `waiter` is in.
  std::vector<std::uint64_t>* list_of(const Waiter& waiter);
  /// Under the lock: forgets waiter `it` and its place in the index.
  void forget(std::unordered_map<std::uint64_t, Waiter>::iterator it);

  mutable std::mutex mutex_;  // guards everything below
  std::size_t capacity_;
  /// An event in the window with what a reader's scan compares, kept beside the pointer: a
  /// client woken after a busy moment passes over every event since its last read, mostly other
  /// chats', and a hash compare (no string compare, no visit to the event) rules those out.
  struct Slot {
    std::int64_t cursor;
    std::size_t chat_hash;
    Entry entry;
  };
  /// Under the lock: true when `slot` may match `filter` (`chat_hash` the hash of the filter's
  /// chat, unused when it names none) and does.
  static bool slot_matches(const Slot& slot, const EventFilter& filter, std::size_t chat_hash);
  std::deque<Slot> window_;  // cursor order
  /// The highest cursor that is not (or no longer) in the window: at the start, the store's head;
  /// then the cursor of the last event pushed out.
  std::int64_t floor_ = 0;
  std::int64_t head_ = 0;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  /// The waiters by the chat their filter names, and those that name none: a publish looks at
  /// its chat's waiters and the chat-less ones only, not at every client (1,000 clients each
  /// following a chat: one or two filter checks per event instead of 1,000). A wait that ends
  /// leaves its list by swapping the last one into its place; a chat's emptied list goes.
  std::unordered_map<std::string, std::vector<std::uint64_t>> waiters_by_chat_;
  std::vector<std::uint64_t> waiters_any_chat_;
  std::uint64_t next_wait_ = 1;
  std::uint64_t published_ = 0;
};

}  // namespace botgate
