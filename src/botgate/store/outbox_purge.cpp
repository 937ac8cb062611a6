#include "botgate/store/outbox_purge.hpp"

#include <algorithm>
#include <vector>

namespace botgate::store {

OutboxPurge::OutboxPurge(Statements& statements, std::chrono::milliseconds retention,
                         std::chrono::milliseconds every, std::size_t chunk)
    : sql_(statements),
      retention_(retention),
      every_(every),
      chunk_(std::max<std::size_t>(1, chunk)) {}

bool OutboxPurge::due() const {
  return in_pass_ || std::chrono::steady_clock::now() - last_end_ >= every_;
}

void OutboxPurge::step(std::int64_t now_ms) {
  in_pass_ = true;
  const std::int64_t cutoff = now_ms - retention_.count();
  std::vector<std::int64_t> finished;
  std::size_t rows = 0;
  step_cursor_ = cursor_;
  step_ends_pass_ = false;
  {
    Use s(sql_("SELECT id, state, created_at, updated_at FROM outbox WHERE id > ?1 ORDER BY id "
               "LIMIT ?2"));
    s->bind(1, cursor_).bind(2, static_cast<std::int64_t>(chunk_));
    int rc = SQLITE_ROW;
    while ((rc = s->step()) == SQLITE_ROW) {
      ++rows;
      if (s->column_int(2) > cutoff) {
        // Rows are created in id order: the rest are younger still.
        step_ends_pass_ = true;
        break;
      }
      step_cursor_ = s->column_int(0);
      const bool queued = s->column_int(1) == 0;
      // A message retried until lately keeps its answer for the whole retention too.
      if (!queued && s->column_int(3) <= cutoff) finished.push_back(step_cursor_);
    }
    if (rc != SQLITE_ROW) sql_.check(rc, "read the outbox to purge");
  }
  if (rows < chunk_) step_ends_pass_ = true;
  for (const std::int64_t id : finished) {
    Use s(sql_("DELETE FROM outbox WHERE id = ?1"));
    s->bind(1, id);
    sql_.check(s->step(), "delete a finished outbox message");
  }
  step_deleted_ = finished.size();
}

void OutboxPurge::committed() {
  cursor_ = step_cursor_;
  deleted_.fetch_add(step_deleted_, std::memory_order_relaxed);
  step_deleted_ = 0;
  if (step_ends_pass_) end_pass(true);
}

void OutboxPurge::rolled_back() {
  step_deleted_ = 0;
  end_pass(false);
}

void OutboxPurge::end_pass(bool completed) {
  in_pass_ = false;
  // Queued messages older than the retention stay at the front: the next pass starts over.
  cursor_ = 0;
  last_end_ = std::chrono::steady_clock::now();
  if (completed) passes_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace botgate::store
