#include "botgate/store/inbox_mirror.hpp"

#include <algorithm>

namespace botgate::store {

void InboxMirror::added(std::int64_t id, Event event, SystemTime accepted_at) {
  auto it = copies_.find(event.bot);
  if (it == copies_.end() || !it->second.whole) return;
  Copy& copy = it->second;
  if (copy.items.size() >= limit_) {
    // A backlog: it waits in the table, and the copy starts again once the worker caught up.
    copy.whole = false;
    copy.items.clear();
    copy.items.shrink_to_fit();
    return;
  }
  copy.items.push_back(InboxItem{id, std::move(event), 0, accepted_at});
}

void InboxMirror::removed(std::int64_t id) {
  for (auto& [bot, copy] : copies_) {
    auto& items = copy.items;
    if (!items.empty() && items.front().id == id) {
      items.pop_front();
      return;
    }
    auto at = std::lower_bound(items.begin(), items.end(), id,
                               [](const InboxItem& item, std::int64_t wanted) {
                                 return item.id < wanted;
                               });
    if (at != items.end() && at->id == id) {
      items.erase(at);
      return;
    }
  }
}

void InboxMirror::retried(std::int64_t id) {
  if (InboxItem* item = find(id)) ++item->attempts;
}

InboxItem* InboxMirror::find(std::int64_t id) {
  for (auto& [bot, copy] : copies_) {
    auto& items = copy.items;
    auto at = std::lower_bound(items.begin(), items.end(), id,
                               [](const InboxItem& item, std::int64_t wanted) {
                                 return item.id < wanted;
                               });
    if (at != items.end() && at->id == id) return &*at;
  }
  return nullptr;
}

std::optional<std::vector<InboxItem>> InboxMirror::pending(
    const std::string& bot, std::size_t limit,
    const std::unordered_set<std::int64_t>& taken) const {
  auto it = copies_.find(bot);
  if (it == copies_.end() || !it->second.whole) return std::nullopt;
  std::vector<InboxItem> out;
  out.reserve(std::min(limit, it->second.items.size()));
  for (const InboxItem& item : it->second.items) {
    if (out.size() >= limit) break;
    if (!taken.contains(item.id)) out.push_back(item);
  }
  return out;
}

void InboxMirror::read_from_table(const std::string& bot, const std::vector<InboxItem>& items,
                                  std::size_t limit) {
  if (items.size() >= limit) return;  // there may be more: the table stays the source
  Copy& copy = copies_[bot];
  copy.whole = true;
  copy.items.assign(items.begin(), items.end());
}

}  // namespace botgate::store
