#include "botgate/store/sqlite_dedup.hpp"

#include <algorithm>
#include <cassert>

namespace botgate::store {
namespace {
/// Expired keys are deleted from the indexed table at the end of a merge at most this often: the
/// delete scans the table.
constexpr auto kPurgeInterval = std::chrono::minutes(10);
}  // namespace

SqliteDedup::SqliteDedup(Statements& statements, std::size_t recent_limit,
                         std::size_t merge_chunk)
    : sql_(statements), recent_limit_(recent_limit), merge_chunk_(std::max<std::size_t>(1, merge_chunk)) {}

void SqliteDedup::load(std::int64_t now_ms) {
  recent_.clear();
  Use s(sql_("SELECT id, key, expires_at FROM dedup_recent ORDER BY id"));
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) {
    const std::int64_t row = s->column_int(0);
    last_row_ = row;
    const std::int64_t expires = s->column_int(2);
    // Expired rows stay until the next merge deletes them with the rest.
    if (expires > now_ms) recent_[s->column_text(1)] = Recent{expires, row};
  }
  sql_.check(rc, "read recent dedup keys");
  staged_last_row_ = last_row_;
}

bool SqliteDedup::seen(const std::string& key, std::int64_t now_ms) {
  if (auto it = recent_.find(key); it != recent_.end()) {
    // Keys move to the indexed table only in merges, oldest first: a recent entry is the
    // newest word on its key.
    return it->second.expires_ms > now_ms;
  }
  Use s(sql_("SELECT expires_at FROM dedup WHERE key = ?1"));
  s->bind(1, key);
  return s->step() == SQLITE_ROW && s->column_int(0) > now_ms;
}

void SqliteDedup::record(const std::string& key, std::int64_t expires_ms) {
  Use s(sql_("INSERT INTO dedup_recent (key, expires_at) VALUES (?1, ?2)"));
  s->bind(1, key).bind(2, expires_ms);
  sql_.check(s->step(), "record dedup key");
  const std::int64_t row = sql_.last_insert_rowid();
  staged_last_row_ = row;
  recent_[key] = Recent{expires_ms, row};
  staged_.push_back(Staged{key, row});
}

void SqliteDedup::committed() {
  staged_.clear();
  last_row_ = staged_last_row_;
}

void SqliteDedup::rolled_back() {
  for (const Staged& staged : staged_) {
    auto it = recent_.find(staged.key);
    if (it != recent_.end() && it->second.row == staged.row) recent_.erase(it);
  }
  staged_.clear();
  // SQLite gives the rolled-back row ids out again: a merge must not count them as its own.
  staged_last_row_ = last_row_;
}

bool SqliteDedup::merge_due() const {
  return !merging_.empty() || recent_.size() >= recent_limit_;
}

void SqliteDedup::merge_step(std::int64_t now_ms) {
  assert(staged_.empty());
  if (merging_.empty()) {
    merge_upto_ = last_row_;
    merging_.reserve(recent_.size());
    for (const auto& [key, recent] : recent_) {
      if (recent.row <= merge_upto_ && recent.expires_ms > now_ms) {
        merging_.emplace_back(key, recent.expires_ms);
      }
    }
    // In key order, the inserts walk the index once from left to right.
    std::sort(merging_.begin(), merging_.end());
    merged_ = 0;
  }
  const std::size_t end = std::min(merging_.size(), merged_ + merge_chunk_);
  for (std::size_t i = merged_; i < end; ++i) {
    Use s(sql_("INSERT OR REPLACE INTO dedup (key, expires_at) VALUES (?1, ?2)"));
    s->bind(1, merging_[i].first).bind(2, merging_[i].second);
    sql_.check(s->step(), "merge dedup key");
  }
  merge_written_ = end - merged_;
  if (end < merging_.size()) return;
  {
    Use s(sql_("DELETE FROM dedup_recent WHERE id <= ?1"));
    s->bind(1, merge_upto_);
    sql_.check(s->step(), "delete merged dedup keys");
  }
  if (std::chrono::steady_clock::now() - last_purge_ >= kPurgeInterval) {
    Use s(sql_("DELETE FROM dedup WHERE expires_at <= ?1"));
    s->bind(1, now_ms);
    sql_.check(s->step(), "expire dedup keys");
    last_purge_ = std::chrono::steady_clock::now();
  }
}

void SqliteDedup::merge_committed() {
  merged_ += merge_written_;
  merge_written_ = 0;
  if (merged_ < merging_.size()) return;
  std::erase_if(recent_, [this](const auto& entry) { return entry.second.row <= merge_upto_; });
  merging_.clear();
  merging_.shrink_to_fit();
  merged_ = 0;
}

}  // namespace botgate::store
