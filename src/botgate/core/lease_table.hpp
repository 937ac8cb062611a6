#pragma once
/// The Store's leases and presence (core/store.hpp) for a store that one process alone uses
/// (the SQLite store, the tests' memory store): a table in memory with the same guarantees,
/// expiry and fencing epochs included. Epochs start again after a restart, which one process
/// cannot see.

#include "botgate/core/store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace botgate {

/// Thread safety: every method may be called from any thread.
class LeaseTable {
 public:
  std::optional<Lease> acquire(const std::string& name, const std::string& holder,
                               std::chrono::milliseconds ttl);
  bool renew(const std::string& name, const std::string& holder, std::int64_t epoch,
             std::chrono::milliseconds ttl);
  void release(const std::string& name, const std::string& holder, std::int64_t epoch);
  std::size_t presence(const std::string& group, const std::string& member,
                       std::chrono::milliseconds ttl);

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string holder;  // empty: free
    std::int64_t epoch = 0;  // the last epoch given for the name, kept once it is free
    Clock::time_point expires_at{};
  };
  bool held_by(const Entry& entry, const std::string& holder, std::int64_t epoch,
               Clock::time_point now) const;

  std::mutex mutex_;  // guards entries_ and groups_
  std::map<std::string, Entry> entries_;
  /// Store::presence: group -> member -> until when it takes part.
  std::map<std::string, std::map<std::string, Clock::time_point>> groups_;
};

}  // namespace botgate
