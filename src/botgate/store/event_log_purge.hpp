#pragma once
/// Deletes the event log's entries (the `events` table, Store::events_after) once they are older
/// than the retention (`[api] event_retention_s`), so that the log holds what a reconnecting
/// stream client may still ask for and no more.
///
/// Entries are written in cursor order, so a pass reads from the oldest and stops at the first
/// one still young: a chunk of rows per transaction, between the other writes, never a scan of
/// the young rows. The newest entry is never deleted: the store's next cursor is read from it at
/// open, and must stay above every cursor given before.
///
/// Thread safety: database thread only, like the connection it uses; deleted() from any thread.

#include "botgate/store/sqlite_statement.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace botgate::store {

class EventLogPurge {
 public:
  /// `statements` must outlive this; the events table exists. A pass starts at most `every`
  /// after the last one ended.
  EventLogPurge(Statements& statements, std::chrono::milliseconds retention,
                std::chrono::milliseconds every, std::size_t chunk = 1000);

  /// True when a pass is under way or the next one is due.
  bool due() const;
  bool in_pass() const noexcept { return in_pass_; }
  /// Inside a transaction of its own: deletes the next `chunk` entries past the retention
  /// (fewer when younger ones come first). Then call committed() or rolled_back().
  void step(std::int64_t now_ms);
  void committed();
  /// The pass is given up until the next one is due (the store logs why).
  void rolled_back();

  /// Entries deleted since the store opened (for tests).
  std::uint64_t deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }

 private:
  void end_pass();

  Statements& sql_;
  std::chrono::milliseconds retention_;
  std::chrono::milliseconds every_;
  std::size_t chunk_;
  bool in_pass_ = false;
  // Written by the last step(), not yet committed.
  std::uint64_t step_deleted_ = 0;
  bool step_ends_pass_ = false;
  std::chrono::steady_clock::time_point last_end_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> deleted_{0};
};

}  // namespace botgate::store
