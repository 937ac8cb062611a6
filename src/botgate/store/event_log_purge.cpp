#include "botgate/store/event_log_purge.hpp"

#include <sqlite3.h>

#include <algorithm>

namespace botgate::store {

EventLogPurge::EventLogPurge(Statements& statements, std::chrono::milliseconds retention,
                             std::chrono::milliseconds every, std::size_t chunk)
    : sql_(statements),
      retention_(retention),
      every_(every),
      chunk_(std::max<std::size_t>(1, chunk)) {}

bool EventLogPurge::due() const {
  return in_pass_ || std::chrono::steady_clock::now() - last_end_ >= every_;
}

void EventLogPurge::step(std::int64_t now_ms) {
  in_pass_ = true;
  const std::int64_t cutoff = now_ms - retention_.count();
  std::int64_t last_old = 0;
  std::size_t rows = 0;
  step_ends_pass_ = false;
  {
    Use s(sql_("SELECT cursor, created_at FROM events ORDER BY cursor LIMIT ?1"));
    s->bind(1, static_cast<std::int64_t>(chunk_));
    int rc = SQLITE_ROW;
    while ((rc = s->step()) == SQLITE_ROW) {
      ++rows;
      if (s->column_int(1) >= cutoff) {
        // Written in cursor order: the rest are younger still.
        step_ends_pass_ = true;
        break;
      }
      last_old = s->column_int(0);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) sql_.check(rc, "read the event log to purge");
  }
  if (rows < chunk_) step_ends_pass_ = true;
  step_deleted_ = 0;
  if (last_old == 0) return;
  Use s(sql_("DELETE FROM events WHERE cursor <= ?1 AND cursor < (SELECT MAX(cursor) FROM events)"));
  s->bind(1, last_old);
  sql_.check(s->step(), "delete old entries of the event log");
  step_deleted_ = static_cast<std::uint64_t>(sqlite3_changes(sql_.db()));
}

void EventLogPurge::committed() {
  deleted_.fetch_add(step_deleted_, std::memory_order_relaxed);
  step_deleted_ = 0;
  if (step_ends_pass_) end_pass();
}

void EventLogPurge::rolled_back() {
  step_deleted_ = 0;
  end_pass();
}

void EventLogPurge::end_pass() {
  in_pass_ = false;
  last_end_ = std::chrono::steady_clock::now();
}

}  // namespace botgate::store
