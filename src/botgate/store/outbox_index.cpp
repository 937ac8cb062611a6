#include "botgate/store/outbox_index.hpp"

#include <algorithm>
#include <utility>

namespace botgate::store {

void OutboxIndex::queued(const std::string& bot_name, const std::string& lane_key,
                         std::int64_t id, std::int64_t next_at, std::optional<OutboxItem> item) {
  std::lock_guard lock(mutex_);
  Bot& bot = bots_[bot_name];
  Lane& lane = bot.lanes[lane_key];
  if (lane.key.empty()) lane.key = lane_key;
  Entry entry{id, next_at, nullptr};
  if (item && cached_ < cache_limit_) {
    entry.item = std::make_unique<OutboxItem>(std::move(*item));
    ++cached_;
  }
  const bool first_not_taken = lane.entries.size() == lane.taken;
  lane.entries.push_back(std::move(entry));
  if (first_not_taken) add_head(bot, lane);
  ++size_;
}

void OutboxIndex::add_head(Bot& bot, Lane& lane) {
  if (lane.taken >= lane.entries.size()) return;
  const Entry& head = lane.entries[lane.taken];
  bot.heads.emplace(head.id, &lane);
  bot.waiting.insert(head.next_at);
}

void OutboxIndex::remove_head(Bot& bot, Lane& lane) {
  if (lane.taken >= lane.entries.size()) return;
  const Entry& head = lane.entries[lane.taken];
  bot.heads.erase(head.id);
  bot.waiting.erase(bot.waiting.find(head.next_at));
}

std::deque<OutboxIndex::Entry>::iterator OutboxIndex::entry_of(Lane& lane, std::int64_t id) {
  auto at = std::lower_bound(lane.entries.begin(), lane.entries.end(), id,
                             [](const Entry& entry, std::int64_t wanted) {
                               return entry.id < wanted;
                             });
  return at != lane.entries.end() && at->id == id ? at : lane.entries.end();
}

std::optional<OutboxIndex::Place> OutboxIndex::find(std::int64_t id) {
  if (auto it = taken_.find(id); it != taken_.end()) return it->second;
  for (auto& [name, bot] : bots_) {
    for (auto& [key, lane] : bot.lanes) {
      if (entry_of(lane, id) != lane.entries.end()) return Place{&bot, &lane};
    }
  }
  return std::nullopt;
}

void OutboxIndex::drop_item(Entry& entry) {
  if (!entry.item) return;
  entry.item.reset();
  --cached_;
}

void OutboxIndex::erase_if_empty(Bot& bot, Lane& lane) {
  if (!lane.entries.empty()) return;
  const std::string key = lane.key;  // the lane's own copy goes with it
  bot.lanes.erase(key);
}

void OutboxIndex::ended(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto place = find(id);
  if (!place) return;
  Bot& bot = *place->bot;
  Lane& lane = *place->lane;
  auto at = entry_of(lane, id);
  const auto index = static_cast<std::size_t>(at - lane.entries.begin());
  if (index < lane.taken) {
    // The head stays what it was.
    --lane.taken;
    taken_.erase(id);
    lane.entries.erase(at);
  } else if (index == lane.taken) {
    // The lane's head: the next one is.
    remove_head(bot, lane);
    drop_item(*at);
    lane.entries.erase(at);
    add_head(bot, lane);
  } else {
    drop_item(*at);
    lane.entries.erase(at);
  }
  --size_;
  erase_if_empty(bot, lane);
}

void OutboxIndex::retried(std::int64_t id, std::int64_t next_at) {
  std::lock_guard lock(mutex_);
  if (taken_.contains(id)) return;
  auto place = find(id);
  if (!place) return;
  Lane& lane = *place->lane;
  auto at = entry_of(lane, id);
  const bool head = static_cast<std::size_t>(at - lane.entries.begin()) == lane.taken;
  if (head) remove_head(*place->bot, lane);
  at->next_at = next_at;
  drop_item(*at);
  if (head) add_head(*place->bot, lane);
}

template <class Give>
bool OutboxIndex::take_locked(const std::string& bot_name, std::int64_t now, std::size_t limit,
                              std::size_t lane_limit, bool kept_only, Give&& give) {
  auto found = bots_.find(bot_name);
  if (found == bots_.end()) return true;
  Bot& bot = found->second;
  std::size_t given = 0;
  for (auto it = bot.heads.begin(); it != bot.heads.end() && given < limit;) {
    Lane& lane = *it->second;
    Entry& entry = lane.entries[lane.taken];
    if (lane.taken >= lane_limit || entry.next_at > now) {
      ++it;  // this lane waits; later messages of other lanes may go
      continue;
    }
    if (kept_only && !entry.item) return false;
    const std::int64_t id = entry.id;
    std::optional<OutboxItem> item;
    if (entry.item) {
      item = std::move(*entry.item);
      drop_item(entry);
    }
    give(id, std::move(item));
    ++given;
    taken_.emplace(id, Place{&bot, &lane});
    remove_head(bot, lane);  // `it` with it
    ++lane.taken;
    add_head(bot, lane);
    // On from the message just given: the lane's next one may come before other lanes' heads.
    it = bot.heads.upper_bound(id);
  }
  return true;
}

std::vector<OutboxIndex::Taken> OutboxIndex::take(const std::string& bot, std::int64_t now,
                                                  std::size_t limit, std::size_t lane_limit) {
  std::lock_guard lock(mutex_);
  std::vector<Taken> out;
  take_locked(bot, now, limit, lane_limit, false,
              [&](std::int64_t id, std::optional<OutboxItem> item) {
                out.push_back(Taken{id, std::move(item)});
              });
  return out;
}

OutboxIndex::Kept OutboxIndex::take_kept(const std::string& bot, std::int64_t now,
                                         std::size_t limit, std::size_t lane_limit) {
  std::lock_guard lock(mutex_);
  Kept out;
  out.complete = take_locked(bot, now, limit, lane_limit, true,
                             [&](std::int64_t, std::optional<OutboxItem> item) {
                               out.items.push_back(std::move(*item));
                             });
  return out;
}

void OutboxIndex::give_back(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = taken_.find(id);
  if (it == taken_.end()) return;
  Bot& bot = *it->second.bot;
  Lane& lane = *it->second.lane;
  taken_.erase(it);
  remove_head(bot, lane);
  --lane.taken;
  add_head(bot, lane);
}

std::optional<std::int64_t> OutboxIndex::next_due(const std::string& bot) const {
  std::lock_guard lock(mutex_);
  auto found = bots_.find(bot);
  if (found == bots_.end() || found->second.waiting.empty()) return std::nullopt;
  return *found->second.waiting.begin();
}

std::size_t OutboxIndex::cached() const {
  std::lock_guard lock(mutex_);
  return cached_;
}

std::size_t OutboxIndex::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace botgate::store
