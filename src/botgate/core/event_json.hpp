#pragma once
/// The Event JSON of DESIGN.md (forward, WebSocket API, message log, the inbox) and the
/// outbox's OutgoingMessage JSON. Neither carries the reply credential (Event::reply_credential):
/// the store keeps it beside the JSON.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/core/outgoing.hpp"

#include <chrono>
#include <optional>
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

/// `since_epoch` as a system_clock time, or nullopt when the clock cannot hold it (it counts
/// nanoseconds in 64 bits: the years 1677 to 2262). Platform timestamps come from outside; a
/// plain conversion of a larger one overflows.
template <class Rep, class Period>
std::optional<std::chrono::system_clock::time_point> to_system_time(
    std::chrono::duration<Rep, Period> since_epoch) {
  using std::chrono::duration_cast;
  using Clock = std::chrono::system_clock;
  constexpr auto max = duration_cast<decltype(since_epoch)>(Clock::duration::max());
  constexpr auto min = duration_cast<decltype(since_epoch)>(Clock::duration::min());
  if (since_epoch > max || since_epoch < min) return std::nullopt;
  return Clock::time_point(duration_cast<Clock::duration>(since_epoch));
}

}  // namespace botgate
