#include "botgate/api/metrics_text.hpp"

#include <cstdio>
#include <fstream>
#include <functional>

#include <unistd.h>

namespace botgate::api {
namespace {

/// A connection a client opened to botgate (OneBot's forward WebSocket): it comes and goes with
/// the client, has no reconnects of its own, and is no gateway shard.
bool accepted_connection(const EventSourceStatus& connection) {
  return !connection.peer.empty() || connection.kind == "forward";
}

double unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration<double>(at.time_since_epoch()).count();
}

/// A number as Prometheus reads it: integers without a fraction, others with millisecond
/// precision (every time here is a timestamp).
std::string number(double value) {
  if (value == static_cast<double>(static_cast<std::int64_t>(value))) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  return buffer;
}

/// A duration in seconds to the microsecond (the store's upkeep runs take a few ms).
std::string duration(std::chrono::nanoseconds time) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6f", std::chrono::duration<double>(time).count());
  return buffer;
}

class Exposition {
 public:
  /// Starts a metric family; its samples follow.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  /// A sample of the current family for a bot, with extra labels ("shard", "0", ...).
  void sample(const BotStatus& bot, double value,
              std::initializer_list<std::pair<std::string_view, std::string_view>> extra = {}) {
    out_.append(name_).append("{bot=\"").append(escape_label_value(bot.name));
    out_.append("\",platform=\"").append(escape_label_value(bot.platform)).append("\"");
    for (const auto& [label, text] : extra) {
      out_.append(",").append(label).append("=\"").append(escape_label_value(text)).append("\"");
    }
    out_.append("} ").append(number(value)).append("\n");
  }

  /// A sample without labels.
  void sample(double value) { out_.append(name_).append(" ").append(number(value)).append("\n"); }

  /// A sample with one label; `value` as number() or duration() wrote it.
  void sample(std::string_view label, std::string_view text, std::string_view value) {
    out_.append(name_).append("{").append(label).append("=\"").append(escape_label_value(text));
    out_.append("\"} ").append(value).append("\n");
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

/// A family with one sample per bot, read by `value`.
void per_bot(Exposition& out, const std::vector<BotFigures>& bots, std::string_view name,
             std::string_view type, std::string_view help,
             const std::function<double(const BotStatus&)>& value) {
  out.family(name, type, help);
  for (const BotFigures& bot : bots) out.sample(bot.status, value(bot.status));
}

/// The store's upkeep, a sample per kind: each run holds the store's writes up.
void store_families(Exposition& out, const std::vector<StoreUpkeep>& upkeep) {
  if (upkeep.empty()) return;
  out.family("botgate_store_upkeep_total", "counter",
             "Runs of the store's own upkeep (kind: WAL checkpoints, steps of dedup merges and "
             "purges); the store's writes, and the callbacks waiting on them, wait for each.");
  for (const StoreUpkeep& kind : upkeep) {
    out.sample("kind", kind.kind, number(static_cast<double>(kind.runs)));
  }
  out.family("botgate_store_upkeep_seconds_total", "counter",
             "Time the store's upkeep took (a step is timed with its commit, and so with a "
             "checkpoint that commit ran).");
  for (const StoreUpkeep& kind : upkeep) out.sample("kind", kind.kind, duration(kind.total));
  out.family("botgate_store_upkeep_longest_seconds", "gauge",
             "The longest run of the store's upkeep since it opened.");
  for (const StoreUpkeep& kind : upkeep) out.sample("kind", kind.kind, duration(kind.longest));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(const std::vector<BotFigures>& bots, const ProcessFigures& process) {
  Exposition out;
  out.family("process_start_time_seconds", "gauge", "When botgate started, in Unix seconds.");
  out.sample(unix_seconds(process.started_at));
  if (process.resident_bytes > 0) {
    out.family("process_resident_memory_bytes", "gauge", "Resident memory of botgate.");
    out.sample(static_cast<double>(process.resident_bytes));
  }

  store_families(out, process.store_upkeep);

  per_bot(out, bots, "botgate_bot_ready", "gauge",
          "1 when the bot can send (token fetched, gateways connected), else 0.",
          [](const BotStatus& b) { return b.ready ? 1.0 : 0.0; });
  per_bot(out, bots, "botgate_events_received_total", "counter",
          "Events accepted from the platform (duplicates not counted).",
          [](const BotStatus& b) { return static_cast<double>(b.events_in); });
  per_bot(out, bots, "botgate_callbacks_rejected_total", "counter",
          "Callbacks refused: forged, stale or malformed.",
          [](const BotStatus& b) { return static_cast<double>(b.callbacks_rejected); });
  per_bot(out, bots, "botgate_messages_sent_total", "counter",
          "Messages the platform took.",
          [](const BotStatus& b) { return static_cast<double>(b.messages_sent); });
  per_bot(out, bots, "botgate_send_failures_total", "counter",
          "Messages given up on: the platform refused them or they kept failing.",
          [](const BotStatus& b) { return static_cast<double>(b.send_failures); });
  per_bot(out, bots, "botgate_delivery_uncertain_total", "counter",
          "Messages that may or may not have reached the platform (not sent again).",
          [](const BotStatus& b) { return static_cast<double>(b.delivery_uncertain); });
  per_bot(out, bots, "botgate_handling_retries_total", "counter",
          "Handler runs that asked to be tried again (a forward service that was down).",
          [](const BotStatus& b) { return static_cast<double>(b.handling_retries); });
  per_bot(out, bots, "botgate_dead_lettered_total", "counter",
          "Events given up on and kept as dead letters.",
          [](const BotStatus& b) { return static_cast<double>(b.dead_lettered); });
  per_bot(out, bots, "botgate_rate_limit_waits_total", "counter",
          "Times the platform made a message wait (429 and the like).",
          [](const BotStatus& b) { return static_cast<double>(b.rate_limit_waits); });
  per_bot(out, bots, "botgate_rate_limited_seconds_total", "counter",
          "Time messages waited for the platform's rate limits.",
          [](const BotStatus& b) { return static_cast<double>(b.rate_limited_ms) / 1000.0; });

  out.family("botgate_last_event_timestamp_seconds", "gauge",
             "When the bot last accepted an event, in Unix seconds.");
  for (const BotFigures& bot : bots) {
    if (bot.status.last_event_at) out.sample(bot.status, unix_seconds(*bot.status.last_event_at));
  }
  out.family("botgate_token_expiry_timestamp_seconds", "gauge",
             "When the bot's cached access token expires, in Unix seconds.");
  for (const BotFigures& bot : bots) {
    if (bot.status.token_expires_at) {
      out.sample(bot.status, unix_seconds(*bot.status.token_expires_at));
    }
  }

  const auto depth_family = [&](std::string_view name, std::string_view help,
                                std::int64_t QueueDepth::*field) {
    out.family(name, "gauge", help);
    for (const BotFigures& bot : bots) {
      if (bot.depth) out.sample(bot.status, static_cast<double>((*bot.depth).*field));
    }
  };
  depth_family("botgate_inbox_depth", "Events accepted and not yet handled.", &QueueDepth::inbox);
  depth_family("botgate_outbox_depth", "Messages queued and not yet sent.", &QueueDepth::outbox);
  depth_family("botgate_dead_letters", "Dead letters kept (retry or discard them in the API).",
               &QueueDepth::dead_letters);

  out.family("botgate_gateway_state", "gauge",
             "1 for each gateway connection (shard) in the state its label names.");
  for (const BotFigures& bot : bots) {
    for (std::size_t i = 0; i < bot.status.connections.size(); ++i) {
      if (accepted_connection(bot.status.connections[i])) continue;
      out.sample(bot.status, 1.0,
                 {{"shard", std::to_string(i)}, {"state", bot.status.connections[i].state}});
    }
  }
  const auto connection_family = [&](std::string_view name, std::string_view help,
                                     std::uint64_t EventSourceStatus::*field) {
    out.family(name, "counter", help);
    for (const BotFigures& bot : bots) {
      for (std::size_t i = 0; i < bot.status.connections.size(); ++i) {
        if (accepted_connection(bot.status.connections[i])) continue;
        out.sample(bot.status, static_cast<double>(bot.status.connections[i].*field),
                   {{"shard", std::to_string(i)}});
      }
    }
  };
  connection_family("botgate_gateway_reconnects_total", "Gateway connections made again.",
                    &EventSourceStatus::reconnects);
  connection_family("botgate_gateway_resumes_total",
                    "Gateway sessions resumed (no event lost) on reconnecting.",
                    &EventSourceStatus::resumes);
  return out.take();
}

std::uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace botgate::api
