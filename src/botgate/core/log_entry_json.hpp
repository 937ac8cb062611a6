#pragma once
/// A message-log entry as JSON: what GET /api/v1/log answers with, and what instances sharing a
/// store (Store::share_log) give each other.

#include "botgate/core/log_entry.hpp"

#include <boost/json/object.hpp>

#include <optional>

namespace botgate {

boost::json::object log_entry_json(const LogEntry& entry);

/// The entry log_entry_json() wrote (its seq is not read: each log numbers its own changes);
/// nullopt when `o` lacks the id, a known direction, outcome or time, so that a foreign or
/// damaged record is dropped rather than shown half.
std::optional<LogEntry> log_entry_from_json(const boost::json::object& o);

}  // namespace botgate
