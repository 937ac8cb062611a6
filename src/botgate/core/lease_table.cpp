#include "botgate/core/lease_table.hpp"

namespace botgate {

bool LeaseTable::held_by(const Entry& entry, const std::string& holder, std::int64_t epoch,
                         Clock::time_point now) const {
  return !entry.holder.empty() && entry.holder == holder && entry.epoch == epoch &&
         now < entry.expires_at;
}

std::optional<Lease> LeaseTable::acquire(const std::string& name, const std::string& holder,
                                         std::chrono::milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  Entry& entry = entries_[name];
  const bool free = entry.holder.empty() || now >= entry.expires_at;
  if (!free && entry.holder != holder) return std::nullopt;
  if (free) {
    // A new holder (also the last one coming back after its lease expired: what it did under
    // the old epoch may have been overtaken meanwhile).
    entry.holder = holder;
    ++entry.epoch;
  }
  entry.expires_at = now + ttl;
  return Lease{entry.epoch};
}

bool LeaseTable::renew(const std::string& name, const std::string& holder, std::int64_t epoch,
                       std::chrono::milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  auto it = entries_.find(name);
  if (it == entries_.end() || !held_by(it->second, holder, epoch, now)) return false;
  it->second.expires_at = now + ttl;
  return true;
}

void LeaseTable::release(const std::string& name, const std::string& holder, std::int64_t epoch) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !held_by(it->second, holder, epoch, Clock::now())) return;
  it->second.holder.clear();
}

std::size_t LeaseTable::presence(const std::string& group, const std::string& member,
                                 std::chrono::milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  auto& members = groups_[group];
  std::erase_if(members, [now](const auto& m) { return m.second <= now; });
  if (ttl.count() > 0) {
    members[member] = now + ttl;
  } else {
    members.erase(member);
  }
  const std::size_t count = members.size();
  if (members.empty()) groups_.erase(group);
  return count;
}

}  // namespace botgate
