#pragma once
/// The Event JSON of DESIGN.md (forward, WebSocket API, message log, the inbox) and the
/// outbox's OutgoingMessage JSON. Neither carries the reply credential (Event::reply_credential):
/// the store keeps it beside the JSON.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/core/outgoing.hpp"

#include <string>
#include <string_view>

namespace botgate {

std::string to_json(const Event& event);
Result<Event> event_from_json(std::string_view json);

std::string to_json(const OutgoingMessage& message);
Result<OutgoingMessage> outgoing_from_json(std::string_view json);

/// "2026-11-28T12:00:00Z"; milliseconds are kept when not zero.
std::string format_time(std::chrono::system_clock::time_point time);
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace botgate
