#pragma once
/// The dedup keys of the SQLite store, written so that recording a key is an append instead of
/// a random insert into an index.
///
/// Keys are random (platform event and message ids), so inserting each one into the indexed
/// table `dedup` dirties a different index page per event, and every dirty page is written to
/// the WAL at each commit: that was the costliest part of an accept. Instead the keys of recent
/// accepts go to the append-only table `dedup_recent` (rows in arrival order, no index) and to a
/// map in memory that answers lookups for them. Once `recent_limit` keys gathered they are merged
/// into `dedup` in key order, a chunk per transaction between the accepts, so each index page is
/// written about once per merge rather than once per key. After a restart `dedup_recent` is read
/// back into memory; a merge cut short by a crash is repeated (a merged key is written again).
///
/// Thread safety: database thread only, like the connection it uses.

#include "botgate/store/sqlite_statement.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate::store {

/// The tables of SqliteDedup, created with the store's schema.
inline constexpr const char* kDedupSchema = R"sql(
CREATE TABLE IF NOT EXISTS dedup (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedup_recent (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql";

class SqliteDedup {
 public:
  /// `statements` must outlive this. The tables exist (the store's schema).
  explicit SqliteDedup(Statements& statements, std::size_t recent_limit = 8192,
                       std::size_t merge_chunk = 1024);

  /// Reads the recent keys that have not expired at `now_ms` back into memory.
  void load(std::int64_t now_ms);

  /// True when `key` was recorded with an expiry after `now_ms`, including by record() earlier
  /// in the open transaction.
  bool seen(const std::string& key, std::int64_t now_ms);
  /// Records `key` until `expires_ms`. Inside the caller's transaction.
  void record(const std::string& key, std::int64_t expires_ms);
  /// The transaction of the record() calls since the last commit or rollback committed.
  void committed();
  /// It was rolled back: forgets what record() added to memory since the last commit.
  void rolled_back();

  /// True when enough keys gathered (or a merge is under way) for merge_step().
  bool merge_due() const;
  /// Writes the next chunk of a merge, or ends it. Inside a transaction of its own; then call
  /// merge_committed() (or nothing after a rollback: the step is repeated).
  void merge_step(std::int64_t now_ms);
  void merge_committed();

  /// Keys answered from memory (for tests and the status of the store).
  std::size_t recent_size() const noexcept { return recent_.size(); }

 private:
  struct Recent {
    std::int64_t expires_ms = 0;
    std::int64_t row = 0;  // its row in dedup_recent
  };
  struct Staged {
    std::string key;
    std::int64_t row = 0;
  };

  Statements& sql_;
  std::size_t recent_limit_;
  std::size_t merge_chunk_;
  std::unordered_map<std::string, Recent> recent_;
  std::vector<Staged> staged_;  // recorded in the open transaction

  // The merge under way: the keys of rows up to merge_upto_, in key order.
  std::vector<std::pair<std::string, std::int64_t>> merging_;  // key, expires_ms
  std::int64_t merge_upto_ = 0;
  std::size_t merged_ = 0;        // of merging_, committed into `dedup`
  std::size_t merge_written_ = 0;  // written by the last merge_step(), not yet committed
  std::int64_t last_row_ = 0;     // the newest committed row of dedup_recent
  std::int64_t staged_last_row_ = 0;  // the newest row written in the open transaction
  std::chrono::steady_clock::time_point last_purge_ = std::chrono::steady_clock::now();
};

}  // namespace botgate::store
