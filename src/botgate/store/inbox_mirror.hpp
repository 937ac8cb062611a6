#pragma once
/// The SQLite store's copy in memory of each bot's inbox, so that the inbox worker takes the
/// events it accepted as they are instead of reading them back and parsing their JSON again.
///
/// A bot's copy is used only while it holds the whole of the bot's inbox: from a read of the
/// table that found all of it (fewer rows than asked for) until the copy outgrows `limit`, when
/// it is dropped and the backlog is read from the table again. The table stays the truth: the
/// copy only follows committed changes.
///
/// Thread safety: database thread only.

#include "botgate/core/store.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace botgate::store {

class InboxMirror {
 public:
  /// 8,192 events (a few MiB at most): a Discord flood's backlog of a few thousand events stays
  /// in memory; at 1,024 some runs read 12,000 of 20,000 events back from the table.
  explicit InboxMirror(std::size_t limit = 8192) : limit_(limit) {}

  /// `event` was committed to the inbox as row `id`, which is above every row in the table,
  /// accepted at `accepted_at` (as the table keeps it) with no attempts.
  void added(std::int64_t id, Event event, SystemTime accepted_at);
  /// Row `id` was committed as deleted.
  void removed(std::int64_t id);
  /// Row `id` was committed with one failed attempt more (Store::inbox_retry).
  void retried(std::int64_t id);
  /// The oldest `limit` items of `bot` that are not in `taken`, when its copy is whole;
  /// nullopt: read the table.
  std::optional<std::vector<InboxItem>> pending(const std::string& bot, std::size_t limit,
                                                const std::unordered_set<std::int64_t>& taken = {}) const;
  /// A read of the table found `items`, the oldest `limit` items of `bot`: fewer than `limit`
  /// means that was the whole inbox of the bot, and its copy starts from them.
  void read_from_table(const std::string& bot, const std::vector<InboxItem>& items,
                       std::size_t limit);

 private:
  /// An item, or the place of one removed: items leave in the order their chats finish, not in
  /// id order, and erasing one from the middle moved every item behind it (a Discord flood's
  /// backlog of thousands, for each event completed). A removed one is marked and its event
  /// freed; the marks leave from either end, so that the entries' ids stay distinct when the
  /// table gives an id again.
  struct Entry {
    InboxItem item;
    bool removed = false;
  };
  struct Copy {
    bool whole = false;
    std::deque<Entry> entries;  // by id
  };
  /// The copied item of row `id`, if a copy holds it.
  InboxItem* find(std::int64_t id);
  std::size_t limit_;
  std::unordered_map<std::string, Copy> copies_;
};

}  // namespace botgate::store
