#include "botgate/core/log_entry_json.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/json_fields.hpp"

#include <limits>

namespace botgate {

namespace json = boost::json;

json::object log_entry_json(const LogEntry& entry) {
  return json::object{{"seq", entry.seq},
                      {"id", entry.id},
                      {"time", format_time(entry.time)},
                      {"bot", entry.bot},
                      {"platform", entry.platform},
                      {"chat_id", entry.chat_id},
                      {"direction", entry.incoming ? "in" : "out"},
                      {"user", entry.user},
                      {"text", entry.text},
                      {"outcome", to_string(entry.outcome)},
                      {"error", entry.error},
                      {"attempts", entry.attempts},
                      {"reply_to", entry.reply_to}};
}

std::optional<LogEntry> log_entry_from_json(const json::object& o) {
  LogEntry entry;
  entry.id = string_at(o, "id");
  const std::string direction = string_at(o, "direction");
  const auto outcome = log_outcome_of(string_at(o, "outcome"));
  const auto time = parse_time(string_at(o, "time"));
  if (entry.id.empty() || (direction != "in" && direction != "out") || !outcome || !time) {
    return std::nullopt;
  }
  entry.incoming = direction == "in";
  entry.outcome = *outcome;
  entry.time = *time;
  entry.bot = string_at(o, "bot");
  entry.platform = string_at(o, "platform");
  entry.chat_id = string_at(o, "chat_id");
  entry.user = string_at(o, "user");
  entry.text = string_at(o, "text");
  entry.error = string_at(o, "error");
  entry.reply_to = string_at(o, "reply_to");
  const std::int64_t attempts = int_at(o, "attempts").value_or(0);
  entry.attempts = attempts < 0 || attempts > std::numeric_limits<int>::max()
                       ? 0
                       : static_cast<int>(attempts);
  return entry;
}

}  // namespace botgate
