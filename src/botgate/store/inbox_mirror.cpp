#include "botgate/store/inbox_mirror.hpp"

#include <algorithm>

namespace botgate::store {

void InboxMirror::added(std::int64_t id, Event event, SystemTime accepted_at) {
  auto it = copies_.find(event.bot);
  if (it == copies_.end() || !it->second.whole) return;
  Copy& copy = it->second;
  if (copy.entries.size() >= limit_) {
    // A backlog: it waits in the table, and the copy starts again once the worker caught up.
    copy.whole = false;
    copy.entries.clear();
    copy.entries.shrink_to_fit();
    return;
  }
  copy.entries.push_back(Entry{InboxItem{id, std::move(event), 0, accepted_at}});
}

namespace {

/// The entry of row `id` in `entries` (ordered by id), removed or not; end() when none.
template <class Entries>
auto entry_of(Entries& entries, std::int64_t id) {
  auto at = std::lower_bound(entries.begin(), entries.end(), id,
                             [](const auto& entry, std::int64_t wanted) {
                               return entry.item.id < wanted;
                             });
  return at != entries.end() && at->item.id == id ? at : entries.end();
}

}  // namespace

void InboxMirror::removed(std::int64_t id) {
  for (auto& [bot, copy] : copies_) {
    auto& entries = copy.entries;
    auto at = entry_of(entries, id);
    if (at == entries.end() || at->removed) continue;
    at->removed = true;
    at->item.event = Event{};
    while (!entries.empty() && entries.front().removed) entries.pop_front();
    // And from the back: the table gives the id of its highest row again once that row is
    // deleted (no AUTOINCREMENT), and the new row's entry must not find a mark with its id.
    while (!entries.empty() && entries.back().removed) entries.pop_back();
    return;
  }
}

void InboxMirror::retried(std::int64_t id) {
  if (InboxItem* item = find(id)) ++item->attempts;
}

InboxItem* InboxMirror::find(std::int64_t id) {
  for (auto& [bot, copy] : copies_) {
    auto at = entry_of(copy.entries, id);
    if (at != copy.entries.end() && !at->removed) return &at->item;
  }
  return nullptr;
}

std::optional<std::vector<InboxItem>> InboxMirror::pending(
    const std::string& bot, std::size_t limit,
    const std::unordered_set<std::int64_t>& taken) const {
  auto it = copies_.find(bot);
  if (it == copies_.end() || !it->second.whole) return std::nullopt;
  std::vector<InboxItem> out;
  out.reserve(std::min(limit, it->second.entries.size()));
  for (const Entry& entry : it->second.entries) {
    if (out.size() >= limit) break;
    if (!entry.removed && !taken.contains(entry.item.id)) out.push_back(entry.item);
  }
  return out;
}

void InboxMirror::read_from_table(const std::string& bot, const std::vector<InboxItem>& items,
                                  std::size_t limit) {
  if (items.size() >= limit) return;  // there may be more: the table stays the source
  Copy& copy = copies_[bot];
  copy.whole = true;
  copy.entries.clear();
  for (const InboxItem& item : items) copy.entries.push_back(Entry{item});
}

}  // namespace botgate::store
