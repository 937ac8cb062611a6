#pragma once
/// GET /api/v1/events: the event log as a stream, as server-sent events (`Accept:
/// text/event-stream`) or a WebSocket (`Upgrade: websocket`), behind the API checks
/// (api_auth.hpp). Each event carries its durable cursor; `?after=<cursor>` or `Last-Event-ID`
/// resumes after it, without either the stream starts with the next event; `?bot=`,
/// `?platform=`, `?chat=` filter (exact match). docs/api.md is the client's description.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace botgate::api {

void add_events_api(net::Router& router, Runtime& runtime, const ApiAccess& access);

/// What a stream request asks for.
struct EventQuery {
  EventFilter filter;
  /// Resume after this cursor (`Last-Event-ID`, else `after`); none: from the next event on.
  std::optional<std::int64_t> after;
};

/// The query of `request`, or why it is malformed (a message naming the parameter).
std::variant<EventQuery, std::string> parse_event_query(const HttpRequest& request);

/// A cursor as a client sends it back: a decimal number, 0 or more; nullopt otherwise.
std::optional<std::int64_t> parse_cursor(std::string_view text);

}  // namespace botgate::api
