#pragma once
/// The dedup keys of the SQLite store, written so that recording a key is an append instead of
/// a random insert into an index.
///
/// Keys are random (platform event and message ids), so inserting each one into an indexed table
/// dirties a different index page per event, and every dirty page is written to the WAL at each
/// commit: that was the costliest part of an accept. Instead the keys of recent accepts go to
/// the append-only table `dedup_log` (rows in arrival order, no index) and to a map in memory
/// that answers lookups for them. Once `recent_limit` keys gathered they are merged into
/// `dedup_index` in key order, a chunk per transaction between the accepts, so each index page is
/// written about once per merge rather than once per key; then their rows of the log are deleted,
/// a chunk per transaction too. After a restart `dedup_log` is read
/// back into memory; a merge cut short by a crash is repeated (a merged key is written again).
///
/// No step of a merge does work in proportion to the whole merge or the whole index: every
/// callback of the moment waits for the step in progress. (They did: the sort of 32,768 keys at a
/// merge's start held the database thread 3.6 ms of CPU, the erase of as many from memory at its
/// end 2.5-6.5 ms, the filter's rebuild from the index 4 ms at 65,000 keys and in proportion
/// beyond.) Now the keys are grouped by their top bits at the start, in one pass over them in
/// arrival order, and each step sorts only the group it reaches; a step's keys leave memory when
/// it commits; a filter that filled up is built anew a chunk of the index per step, at the end
/// of a merge.
///
/// A key is stored as a 64-bit hash of it (key_hash), the rowid of `dedup_index`: rows of 16
/// bytes instead of ~60 (a merge touches a third of the pages it did, and a busy bot's index
/// stays in the page cache), integer compares, no second B-tree. Two keys with the same hash
/// would count as one: with a million keys alive that is a chance of 1 in 2^44 per new key.
///
/// Thread safety: database thread only, like the connection it uses.

#include "botgate/store/hash_filter.hpp"
#include "botgate/store/sqlite_statement.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace botgate::store {

/// The tables of SqliteDedup, created with the store's schema. `dedup` and `dedup_recent` held
/// the keys themselves before; load() moves what they have into `dedup_index` and drops them.
inline constexpr const char* kDedupSchema = R"sql(
CREATE TABLE IF NOT EXISTS dedup_index (
  hash INTEGER PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dedup_log (
  id INTEGER PRIMARY KEY,
  hash INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql";

/// The 64-bit hash a key is stored as. Stored in databases: it must never change.
std::int64_t key_hash(std::string_view key) noexcept;

class SqliteDedup {
 public:
  /// `statements` must outlive this. The tables exist (the store's schema).
  /// `recent_limit`: a merge writes most pages of the index once whatever the number of keys,
  /// so 32,768 keys per merge instead of 8,192 write about a quarter of the pages per key (fewer
  /// WAL pages, checkpoints and long steps: Feishu 25,000 -> 27,000 callbacks/s in full runs),
  /// for ~2 MiB of memory. `merge_chunk`: keys (then rows of the log) per step; a step of 1,024
  /// held the callbacks up ~3.5 ms.
  explicit SqliteDedup(Statements& statements, std::size_t recent_limit = 32768,
                       std::size_t merge_chunk = 256);

  /// Reads the recent keys that have not expired at `now_ms` back into memory (first moving the
  /// keys of a database from before hashes into `dedup_index`).
  void load(std::int64_t now_ms);

  /// True when the key of `hash` (key_hash) was recorded with an expiry after `now_ms`,
  /// including by record() earlier in the open transaction.
  bool seen(std::int64_t hash, std::int64_t now_ms);
  /// Records the key of `hash` until `expires_ms`. Inside the caller's transaction.
  void record(std::int64_t hash, std::int64_t expires_ms);
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

  /// The filter in front of the index (for tests).
  const HashFilter& index_filter() const noexcept { return index_filter_; }
  /// Filter rebuilds finished since load() (for tests).
  std::size_t filter_rebuilds() const noexcept { return filter_rebuilds_; }
  /// Keys answered from memory (for tests and the status of the store).
  std::size_t recent_size() const noexcept { return recent_.size(); }

 private:
  struct Recent {
    std::int64_t expires_ms = 0;
    std::int64_t row = 0;  // its row in dedup_log
  };
  struct Staged {
    std::int64_t hash = 0;
    std::int64_t row = 0;
    std::int64_t expires_ms = 0;
  };
  /// A key to merge.
  struct Keyed {
    std::int64_t hash = 0;
    std::int64_t expires_ms = 0;
    /// Index order, and of one key's records the latest expiry last (INSERT OR REPLACE keeps it).
    bool operator<(const Keyed& other) const noexcept {
      return hash != other.hash ? hash < other.hash : expires_ms < other.expires_ms;
    }
  };
  /// The hash is already spread: the map takes it as it is.
  struct SpreadHash {
    std::size_t operator()(std::int64_t hash) const noexcept {
      return static_cast<std::size_t>(hash);
    }
  };

  void move_keys_from_before_hashes();
  /// index_filter_ made anew from every hash of dedup_index (those that expired go), at once.
  void rebuild_filter();
  /// The start of a merge (in its first step): its keys grouped by their top bits.
  void start_merge(std::int64_t now_ms);
  /// The parts of merge_step() after the first: the next chunk of keys into the index, the next
  /// chunk of rows out of the log, the next chunk of the index into a new filter.
  void insert_chunk();
  void delete_log_chunk(std::int64_t now_ms);
  /// Reads up to `limit` hashes of dedup_index after rebuild_after_ into next_filter_ (from its
  /// start when rebuild_after_ is empty); the last one read, or nullopt at the index's end.
  std::optional<std::int64_t> read_index_chunk(std::size_t limit);
  bool table_exists(const std::string& name);
  /// Inserts the hashes of the (key, expires_at) rows of `rows` into dedup_index; how many.
  std::size_t move_keys(Statement& rows);

  Statements& sql_;
  std::size_t recent_limit_;
  std::size_t merge_chunk_;
  std::unordered_map<std::int64_t, Recent, SpreadHash> recent_;
  std::vector<Staged> staged_;  // recorded in the open transaction
  /// Every hash of dedup_index (and a few more): seen() walks the index only for those it
  /// cannot rule out.
  HashFilter index_filter_;

  /// The committed keys not yet taken by a merge, in arrival order (a merge's first step puts
  /// them in order in one pass instead of walking recent_).
  std::vector<Keyed> arrivals_;

  // The merge under way (merge_on_): the keys of the log's rows up to merge_upto_ go into the
  // index in hash order, then those rows are deleted, both a chunk per step; then, when
  // index_filter_ filled up, the index is read into next_filter_, a chunk per step.
  bool merge_on_ = false;
  /// Grouped by their top bits, in index order from group to group: group g is
  /// merging_[group_end_[g - 1], group_end_[g]) (from 0 for the first), sorted once a step
  /// reaches it (those before sorted_end_ are).
  std::vector<Keyed> merging_;
  std::vector<std::size_t> group_end_;
  std::size_t sorted_end_ = 0;
  std::size_t next_group_ = 0;
  std::int64_t merge_upto_ = 0;
  std::size_t merged_ = 0;        // of merging_, committed into dedup_index
  std::size_t merge_written_ = 0;  // written by the last merge_step(), not yet committed
  bool refilter_ = false;         // the rebuild of the filter under way
  HashFilter next_filter_;
  std::optional<std::int64_t> rebuild_after_;          // the last hash read (committed)
  std::optional<std::int64_t> rebuild_after_written_;  // by the last merge_step()
  bool rebuild_done_written_ = false;                  // the last step read the index's end
  std::size_t filter_rebuilds_ = 0;
  std::int64_t log_cut_ = 0;      // rows of dedup_log up to this one deleted (committed)
  std::int64_t log_cut_written_ = 0;  // by the last merge_step(), not yet committed
  std::int64_t last_row_ = 0;     // the newest committed row of dedup_log
  std::int64_t staged_last_row_ = 0;  // the newest row written in the open transaction
  std::chrono::steady_clock::time_point last_purge_ = std::chrono::steady_clock::now();
};

}  // namespace botgate::store
