#pragma once
/// The SQLite store's index in memory of each bot's queued outbox messages: each one's chat
/// (lane), due time and whether it is taken, so that outbox_take finds the next messages to give
/// without a query; and, for the messages queued while there is room, the whole message, so
/// that a reply the inbox worker just queued reaches the outbox worker without being read back
/// and its JSON parsed again.
///
/// Every queued message has an entry (about 30 bytes: its id and due time, in its lane); at most `cache_limit` messages not taken yet keep
/// their whole item, and the others are read from the table by id when taken. A backlog of
/// 100,000 messages (a platform down for an hour) costs some MiB, not its messages. The table
/// stays the truth: the index is filled from it at open and then follows committed changes.
///
/// Within a lane, the taken messages are always the oldest ones (a lane is given in queue
/// order, and only what is given can be taken): a lane is a deque in id order whose first
/// `taken` entries are taken.
///
/// Thread safety: every call locks the index, so that the outbox worker takes what is kept in
/// memory on its own thread while the database thread commits (a take must not wait behind a
/// round of accepts), and the database thread follows its commits.

#include "botgate/core/store.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate::store {

class OutboxIndex {
 public:
  /// 8,192 messages: what the outbox worker holds by default, a few MiB.
  explicit OutboxIndex(std::size_t cache_limit = 8192) : cache_limit_(cache_limit) {}

  /// Message `id` of `bot`, in lane `lane`, was committed as queued and due at `next_at` (ms).
  /// Its id is above every id of its lane in the index (ids grow in commit order). `item`: the
  /// whole message, kept while fewer than cache_limit are.
  void queued(const std::string& bot, const std::string& lane, std::int64_t id,
              std::int64_t next_at, std::optional<OutboxItem> item = std::nullopt);
  /// Message `id` was committed as sent or failed (or could not be read): it leaves the index.
  void ended(std::int64_t id);
  /// Message `id` was committed as retried at `next_at`: a taken one stays taken (its taker
  /// tries it again); one not taken comes due then, and is read from the table when taken (its
  /// attempts changed).
  void retried(std::int64_t id, std::int64_t next_at);

  /// A message given by take(): the whole item if kept, else only its id (read the table).
  struct Taken {
    std::int64_t id = 0;
    std::optional<OutboxItem> item;
  };
  /// Takes messages of `bot` as Store::outbox_take says: not taken, due at `now` (ms), in id
  /// order, each lane in order and never past a message of it that cannot be given, at most
  /// `lane_limit` out per lane and `limit` in all.
  std::vector<Taken> take(const std::string& bot, std::int64_t now, std::size_t limit,
                          std::size_t lane_limit);
  /// What take_kept gives: whole items only; `complete` is false when it stopped before a
  /// message whose item is not kept (take() the rest, reading the table).
  struct Kept {
    std::vector<OutboxItem> items;
    bool complete = true;
  };
  /// Takes as take() does, but stops before the first message whose whole item is not kept:
  /// what it gives needs no read of the table. Each lane stays in order, as a later take()
  /// goes on from the same heads.
  Kept take_kept(const std::string& bot, std::int64_t now, std::size_t limit,
                 std::size_t lane_limit);
  /// Undoes the take of `id`, the last one taken of its lane (a read of it failed): it may be
  /// given again. Call in the reverse order of the take.
  void give_back(std::int64_t id);
  /// The earliest due time (ms) among the next messages of the lanes of `bot` (see
  /// Store::outbox_next_due).
  std::optional<std::int64_t> next_due(const std::string& bot) const;

  /// How many messages keep their whole item (for tests).
  std::size_t cached() const;
  /// How many messages are indexed (for tests).
  std::size_t size() const;

 private:
  struct Entry {
    std::int64_t id = 0;
    std::int64_t next_at = 0;
    std::unique_ptr<OutboxItem> item;  // while kept
  };
  struct Lane {
    std::string key;
    std::deque<Entry> entries;  // by id; the first `taken` are taken
    std::size_t taken = 0;
  };
  struct Bot {
    std::unordered_map<std::string, Lane> lanes;
    /// The first entry not taken of each lane that has one, by its id: take() walks these.
    std::map<std::int64_t, Lane*> heads;
    /// The due times of the heads: next_due().
    std::multiset<std::int64_t> waiting;
  };
  struct Place {
    Bot* bot = nullptr;
    Lane* lane = nullptr;
  };

  /// Where message `id` is, taken or not (a search of every lane for one not taken: rare, as
  /// only taken messages are normally sent, retried or failed).
  /// take() and take_kept() under the lock: `kept_only` stops before an entry without item.
  template <class Give>
  bool take_locked(const std::string& bot, std::int64_t now, std::size_t limit,
                   std::size_t lane_limit, bool kept_only, Give&& give);
  std::optional<Place> find(std::int64_t id);
  static std::deque<Entry>::iterator entry_of(Lane& lane, std::int64_t id);
  void drop_item(Entry& entry);
  /// Enters or removes the lane's head (its first entry not taken, if any) in heads and waiting.
  static void add_head(Bot& bot, Lane& lane);
  static void remove_head(Bot& bot, Lane& lane);
  void erase_if_empty(Bot& bot, Lane& lane);

  mutable std::mutex mutex_;
  std::size_t cache_limit_;
  std::size_t cached_ = 0;
  std::size_t size_ = 0;
  std::unordered_map<std::string, Bot> bots_;  // node-based: Place pointers stay valid
  std::unordered_map<std::int64_t, Place> taken_;
};

}  // namespace botgate::store
