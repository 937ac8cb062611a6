#pragma once
/// One entry of the message log (core/message_log): an event received or a reply sent, as the
/// web console shows it. Its own header because the Store carries entries too: instances that
/// share a store share their consoles' log (Store::share_log).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace botgate {

/// streaming: a streamed reply (core/stream.hpp) that still grows; its text is what it has so far.
enum class LogOutcome { received, queued, sent, retrying, failed, streaming };
const char* to_string(LogOutcome outcome) noexcept;

struct LogEntry {
  /// Grows with every change: an entry that changes (queued -> sent) gets a new one.
  std::uint64_t seq = 0;
  /// "in:<event id>" or "out:<idempotency key>"; stable over the entry's changes.
  std::string id;
  std::chrono::system_clock::time_point time{};
  std::string bot;
  std::string platform;
  std::string chat_id;
  bool incoming = true;
  std::string user;  // the sender's name, else id (incoming only)
  std::string text;  // flattened; images as "[image] <url>"
  LogOutcome outcome = LogOutcome::received;
  std::string error;  // the platform's error, for retrying and failed
  int attempts = 0;
  std::string reply_to;  // the id of the incoming entry an outgoing one answers
};

/// The outcome a to_string() names; nullopt for any other text.
std::optional<LogOutcome> log_outcome_of(std::string_view name) noexcept;

}  // namespace botgate
