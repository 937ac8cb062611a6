#pragma once
/// What GET /metrics answers: every bot's counters, queues and connections in the Prometheus
/// text exposition format (version 0.0.4). Pure: the route gathers the figures.

#include "botgate/core/runtime.hpp"
#include "botgate/core/store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::api {

/// One bot's figures: its status and what waits in its queues (nullopt: the store did not
/// answer, and the queue gauges are left out rather than reported as empty).
struct BotFigures {
  BotStatus status;
  std::optional<QueueDepth> depth;
};

struct ProcessFigures {
  std::chrono::system_clock::time_point started_at = {};
  /// Resident memory; 0 when it could not be read (the gauge is left out).
  std::uint64_t resident_bytes = 0;
  /// The store's own upkeep, by kind (Store::upkeep); empty: its families are left out.
  std::vector<StoreUpkeep> store_upkeep;
};

/// The Content-Type of the answer.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition text: each metric family once, with its HELP and TYPE, a sample per bot (and
/// per gateway connection) labelled `bot` and `platform`.
std::string metrics_text(const std::vector<BotFigures>& bots, const ProcessFigures& process);

/// `value` as a label value: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view value);

/// This process's resident memory from /proc/self/statm; 0 where that cannot be read.
std::uint64_t resident_memory_bytes();

}  // namespace botgate::api
