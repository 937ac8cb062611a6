#include "botgate/store/sqlite_dedup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace botgate::store {
namespace {
/// Expired keys are deleted from the indexed table at the end of a merge at most this often: the
/// delete scans the table.
constexpr auto kPurgeInterval = std::chrono::minutes(10);
/// Hashes of the index read into a new filter per step of its rebuild (~0.5 ms).
constexpr std::size_t kRebuildChunk = 4096;
/// A merge's keys are grouped by this many top bits: 256 groups, about 128 keys each in a merge
/// of 32,768, so that a step sorts a group or two.
constexpr int kGroupBits = 8;
constexpr std::size_t kGroups = std::size_t{1} << kGroupBits;

/// The group of `hash`, numbered in index order (the index orders hashes as signed integers).
std::size_t group_of(std::int64_t hash) noexcept {
  const auto flipped = static_cast<std::uint64_t>(hash) ^ (std::uint64_t{1} << 63);
  return static_cast<std::size_t>(flipped >> (64 - kGroupBits));
}
}  // namespace

std::int64_t key_hash(std::string_view key) noexcept {
  // FNV-1a over the bytes, then a 64-bit finalizer (Stafford's mix 13) so that keys that differ
  // in their last bytes only (ids counted up) spread over the whole range too.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<std::int64_t>(h);
}

SqliteDedup::SqliteDedup(Statements& statements, std::size_t recent_limit,
                         std::size_t merge_chunk)
    : sql_(statements), recent_limit_(recent_limit), merge_chunk_(std::max<std::size_t>(1, merge_chunk)) {}

bool SqliteDedup::table_exists(const std::string& name) {
  Use s(sql_("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"));
  s->bind(1, name);
  return s->step() == SQLITE_ROW;
}

std::size_t SqliteDedup::move_keys(Statement& rows) {
  Use read(rows);
  std::size_t moved = 0;
  int rc = SQLITE_ROW;
  while ((rc = read->step()) == SQLITE_ROW) {
    ++moved;
    Use insert(sql_("INSERT INTO dedup_index (hash, expires_at) VALUES (?1, ?2) "
                    "ON CONFLICT (hash) DO UPDATE SET expires_at = "
                    "max(expires_at, excluded.expires_at)"));
    insert->bind(1, key_hash(read->column_text(0))).bind(2, read->column_int(1));
    sql_.check(insert->step(), "move a dedup key");
  }
  sql_.check(rc, "read dedup keys to move");
  return moved;
}

void SqliteDedup::move_keys_from_before_hashes() {
  const bool index = table_exists("dedup");
  const bool recent = table_exists("dedup_recent");
  if (!index && !recent) return;
  // Once per database, at its first start with hashed keys; a large one takes a while.
  spdlog::info("store: moving the dedup keys to their hashed index (once)");
  sql_.exec("BEGIN IMMEDIATE");
  try {
    std::size_t moved = 0;
    if (index) moved += move_keys(sql_("SELECT key, expires_at FROM dedup"));
    if (recent) moved += move_keys(sql_("SELECT key, expires_at FROM dedup_recent"));
    sql_.exec("DROP TABLE IF EXISTS dedup");
    sql_.exec("DROP TABLE IF EXISTS dedup_recent");
    sql_.exec("COMMIT");
    spdlog::info("store: {} dedup keys moved", moved);
  } catch (...) {
    sqlite3_exec(sql_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteDedup::load(std::int64_t now_ms) {
  move_keys_from_before_hashes();
  recent_.clear();
  arrivals_.clear();
  Use s(sql_("SELECT id, hash, expires_at FROM dedup_log ORDER BY id"));
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) {
    const std::int64_t row = s->column_int(0);
    last_row_ = row;
    const std::int64_t expires = s->column_int(2);
    // Expired rows stay until the next merge deletes them with the rest.
    if (expires > now_ms) {
      const std::int64_t hash = s->column_int(1);
      recent_[hash] = Recent{expires, row};
      arrivals_.push_back(Keyed{hash, expires});
    }
  }
  sql_.check(rc, "read recent dedup keys");
  staged_last_row_ = last_row_;
  rebuild_filter();
}

void SqliteDedup::rebuild_filter() {
  std::int64_t rows = 0;
  {
    Use count(sql_("SELECT COUNT(*) FROM dedup_index"));
    sql_.check(count->step(), "count the dedup index");
    rows = count->column_int(0);
  }
  // Room to grow before the next rebuild: twice what the index has now.
  next_filter_.reset(2 * static_cast<std::size_t>(rows));
  rebuild_after_.reset();
  while ((rebuild_after_ = read_index_chunk(kRebuildChunk))) {
  }
  index_filter_ = std::exchange(next_filter_, HashFilter());
}

std::optional<std::int64_t> SqliteDedup::read_index_chunk(std::size_t limit) {
  Use s(rebuild_after_
            ? sql_("SELECT hash FROM dedup_index WHERE hash > ?1 ORDER BY hash LIMIT ?2")
            : sql_("SELECT hash FROM dedup_index ORDER BY hash LIMIT ?2"));
  if (rebuild_after_) s->bind(1, *rebuild_after_);
  s->bind(2, static_cast<std::int64_t>(limit));
  std::optional<std::int64_t> last;
  std::size_t read = 0;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) {
    last = s->column_int(0);
    next_filter_.add(*last);
    ++read;
  }
  sql_.check(rc, "read the dedup index");
  return read == limit ? last : std::nullopt;
}

bool SqliteDedup::seen(std::int64_t hash, std::int64_t now_ms) {
  if (auto it = recent_.find(hash); it != recent_.end()) {
    // Keys move to the indexed table only in merges, oldest first: a recent entry is the
    // newest word on its key.
    return it->second.expires_ms > now_ms;
  }
  // Most keys are new: the filter rules them out without walking the index.
  if (!index_filter_.may_contain(hash)) return false;
  Use s(sql_("SELECT expires_at FROM dedup_index WHERE hash = ?1"));
  s->bind(1, hash);
  return s->step() == SQLITE_ROW && s->column_int(0) > now_ms;
}

void SqliteDedup::record(std::int64_t hash, std::int64_t expires_ms) {
  Use s(sql_("INSERT INTO dedup_log (hash, expires_at) VALUES (?1, ?2)"));
  s->bind(1, hash).bind(2, expires_ms);
  sql_.check(s->step(), "record dedup key");
  const std::int64_t row = sql_.last_insert_rowid();
  staged_last_row_ = row;
  recent_[hash] = Recent{expires_ms, row};
  staged_.push_back(Staged{hash, row, expires_ms});
}

void SqliteDedup::committed() {
  for (const Staged& staged : staged_) arrivals_.push_back(Keyed{staged.hash, staged.expires_ms});
  staged_.clear();
  last_row_ = staged_last_row_;
}

void SqliteDedup::rolled_back() {
  for (const Staged& staged : staged_) {
    auto it = recent_.find(staged.hash);
    if (it != recent_.end() && it->second.row == staged.row) recent_.erase(it);
  }
  staged_.clear();
  // SQLite gives the rolled-back row ids out again: a merge must not count them as its own.
  staged_last_row_ = last_row_;
}

bool SqliteDedup::merge_due() const {
  return merge_on_ || recent_.size() >= recent_limit_;
}

void SqliteDedup::start_merge(std::int64_t now_ms) {
  merge_on_ = true;
  merge_upto_ = last_row_;
  // Every committed key is in the log up to last_row_. Of a key recorded again after it expired,
  // the earlier record has expired by now and is left out here.
  std::vector<Keyed> keys;
  keys.swap(arrivals_);
  group_end_.assign(kGroups, 0);
  for (const Keyed& key : keys) {
    if (key.expires_ms > now_ms) {
      ++group_end_[group_of(key.hash)];
    } else if (auto it = recent_.find(key.hash);
               it != recent_.end() && it->second.expires_ms <= now_ms) {
      recent_.erase(it);  // a later record of the key would not have expired yet
    }
  }
  std::size_t end = 0;
  for (std::size_t& group : group_end_) group = end += group;  // counts to their groups' ends
  merging_.resize(end);
  std::vector<std::size_t> next(kGroups);
  for (std::size_t g = 1; g < kGroups; ++g) next[g] = group_end_[g - 1];
  for (const Keyed& key : keys) {
    if (key.expires_ms > now_ms) merging_[next[group_of(key.hash)]++] = key;
  }
  sorted_end_ = 0;
  next_group_ = 0;
  merged_ = 0;
  Use first(sql_("SELECT MIN(id) FROM dedup_log"));
  log_cut_ = first->step() == SQLITE_ROW && !first->column_null(0) ? first->column_int(0) - 1
                                                                   : merge_upto_;
}

void SqliteDedup::insert_chunk() {
  const std::size_t end = std::min(merging_.size(), merged_ + merge_chunk_);
  // In hash order, the inserts walk the index once from left to right.
  while (sorted_end_ < end) {
    const auto first = merging_.begin() + static_cast<std::ptrdiff_t>(sorted_end_);
    sorted_end_ = group_end_[next_group_++];
    std::sort(first, merging_.begin() + static_cast<std::ptrdiff_t>(sorted_end_));
  }
  for (std::size_t i = merged_; i < end; ++i) {
    Use s(sql_("INSERT OR REPLACE INTO dedup_index (hash, expires_at) VALUES (?1, ?2)"));
    s->bind(1, merging_[i].hash).bind(2, merging_[i].expires_ms);
    sql_.check(s->step(), "merge dedup key");
    // Before the key leaves recent_ (merge_committed); kept if this step rolls back: a false
    // "maybe" only costs a lookup.
    index_filter_.add(merging_[i].hash);
  }
  merge_written_ = end - merged_;
}

void SqliteDedup::delete_log_chunk(std::int64_t now_ms) {
  // SQLite deletes a range row by row: 8,192 at once held the database thread for ~10 ms.
  log_cut_written_ =
      std::min(merge_upto_, log_cut_ + static_cast<std::int64_t>(merge_chunk_));
  {
    Use s(sql_("DELETE FROM dedup_log WHERE id <= ?1"));
    s->bind(1, log_cut_written_);
    sql_.check(s->step(), "delete merged dedup keys");
  }
  if (log_cut_written_ == merge_upto_ &&
      std::chrono::steady_clock::now() - last_purge_ >= kPurgeInterval) {
    Use s(sql_("DELETE FROM dedup_index WHERE expires_at <= ?1"));
    s->bind(1, now_ms);
    sql_.check(s->step(), "expire dedup keys");
    last_purge_ = std::chrono::steady_clock::now();
  }
}

void SqliteDedup::merge_step(std::int64_t now_ms) {
  assert(staged_.empty());
  if (!merge_on_) start_merge(now_ms);
  merge_written_ = 0;
  log_cut_written_ = log_cut_;
  rebuild_after_written_ = rebuild_after_;
  rebuild_done_written_ = false;
  if (merged_ < merging_.size()) {
    insert_chunk();
  } else if (log_cut_ < merge_upto_) {
    delete_log_chunk(now_ms);
  } else if (refilter_) {
    // The old filter answers until the new one holds every hash: no key is inserted meanwhile
    // (only merges insert, and this is one).
    rebuild_after_written_ = read_index_chunk(kRebuildChunk);
    rebuild_done_written_ = !rebuild_after_written_;
  }
}

void SqliteDedup::merge_committed() {
  const std::size_t from = merged_;
  merged_ += merge_written_;
  merge_written_ = 0;
  // Those keys are in the index now: their entries go, unless recorded again since the merge
  // began (then they belong to the next one).
  for (std::size_t i = from; i < merged_; ++i) {
    auto it = recent_.find(merging_[i].hash);
    if (it != recent_.end() && it->second.row <= merge_upto_) recent_.erase(it);
  }
  log_cut_ = log_cut_written_;
  if (merged_ < merging_.size() || log_cut_ < merge_upto_) return;
  if (!refilter_ && index_filter_.full()) {
    // Room to grow before the next rebuild: twice what the index can hold at most now (hashes
    // added more than once and keys expired since count too).
    refilter_ = true;
    next_filter_.reset(2 * index_filter_.added());
    rebuild_after_.reset();
    return;
  }
  if (refilter_) {
    rebuild_after_ = rebuild_after_written_;
    if (!rebuild_done_written_) return;
    index_filter_ = std::exchange(next_filter_, HashFilter());
    refilter_ = false;
    ++filter_rebuilds_;
  }
  merging_.clear();
  merging_.shrink_to_fit();
  group_end_.clear();
  merged_ = 0;
  merge_on_ = false;
}

}  // namespace botgate::store
