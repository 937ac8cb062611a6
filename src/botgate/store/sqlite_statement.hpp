#pragma once
/// Prepared statements of the SQLite store. Used only on the store's database thread.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace botgate::store {

/// A prepared statement, reset and cleared of bindings when a use ends (see Use).
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite prepare failed: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::int64_t column_int(int index) { return sqlite3_column_int64(stmt_, index); }
  bool column_null(int index) { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  std::string column_text(int index) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)))
                : std::string();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets the statement when the scope ends, whatever path leaves it.
class Use {
 public:
  explicit Use(Statement& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement* operator->() { return &s_; }
  Statement& operator*() { return s_; }

 private:
  Statement& s_;
};

/// The statements of one connection, prepared on first use and kept. Keyed by the address of
/// the SQL text: pass string literals.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}

  Statement& operator()(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<Statement>(db_, sql)).first;
    return *it->second;
  }

  /// Throws std::runtime_error naming `what` and SQLite's message unless `rc` is a success.
  void check(int rc, const char* what) const {
    if (rc != SQLITE_DONE && rc != SQLITE_ROW && rc != SQLITE_OK) {
      throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
    }
  }

  /// Runs a statement that returns no rows; throws on failure.
  void exec(const char* sql) {
    Use s((*this)(sql));
    check(s->step(), sql);
  }

  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* db() const { return db_; }

  /// Finalizes every statement (before the connection closes).
  void clear() { cache_.clear(); }

 private:
  sqlite3* db_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

}  // namespace botgate::store
