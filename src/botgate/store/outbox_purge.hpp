#pragma once
/// Deletes the outbox messages the SQLite store no longer needs: sent and failed ones, once both
/// their creation and their last attempt are older than the retention. Until then they answer
/// `outbox_status` (`botgate send` waits on it); after that nobody asks, and a busy bot would
/// otherwise grow its database by every message it ever sent.
///
/// A pass walks the outbox in id order (creation order), a chunk of rows per transaction between
/// the other writes, and ends at the first row created after the retention began, so that it
/// reads only the rows that aged since the last pass and the queued ones that are still older.
///
/// Thread safety: database thread only, like the connection it uses; passes() and deleted() from
/// any thread.

#include "botgate/store/sqlite_statement.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace botgate::store {

class OutboxPurge {
 public:
  /// `statements` must outlive this; the outbox table exists. A pass starts at most `every`
  /// after the last one ended.
  OutboxPurge(Statements& statements, std::chrono::milliseconds retention,
              std::chrono::milliseconds every, std::size_t chunk = 1000);

  /// True when a pass is under way or the next one is due.
  bool due() const;
  bool in_pass() const noexcept { return in_pass_; }
  /// Inside a transaction of its own: deletes what is finished and past the retention among
  /// the next `chunk` rows. Then call committed() or rolled_back().
  void step(std::int64_t now_ms);
  void committed();
  /// The pass is given up until the next one is due (the store logs why).
  void rolled_back();

  /// Passes ended and messages deleted since the store opened (for tests).
  std::uint64_t passes() const noexcept { return passes_.load(std::memory_order_relaxed); }
  std::uint64_t deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }

 private:
  /// `completed`: it reached the young rows (else it was given up).
  void end_pass(bool completed);

  Statements& sql_;
  std::chrono::milliseconds retention_;
  std::chrono::milliseconds every_;
  std::size_t chunk_;
  bool in_pass_ = false;
  std::int64_t cursor_ = 0;  // the last row id the pass has looked at (committed)
  // Written by the last step(), not yet committed.
  std::int64_t step_cursor_ = 0;
  std::uint64_t step_deleted_ = 0;
  bool step_ends_pass_ = false;
  std::chrono::steady_clock::time_point last_end_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> deleted_{0};
};

}  // namespace botgate::store
