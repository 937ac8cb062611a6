#pragma once
/// The two ways GET /api/v1/events streams the event log to a client, on the connection the
/// route keeps (net::StreamConnection): server-sent events and a WebSocket. Both read through an
/// EventReader and end when it is stopped (the server stops), the client goes away, or the
/// store fails (the client reconnects with its last cursor and misses nothing).

#include "botgate/api/event_reader.hpp"
#include "botgate/net/stream_connection.hpp"

#include <chrono>
#include <string>

namespace botgate::api {

/// A heartbeat is written when nothing else was for this long: a proxy between keeps the
/// connection, and the server finds a client that went away.
inline constexpr std::chrono::seconds kStreamHeartbeat{15};
/// A write the client does not take within this long ends the stream (its cursor stays valid).
inline constexpr std::chrono::seconds kStreamWriteTimeout{60};

/// One event as server-sent events carry it: "id: <cursor>\ndata: <event JSON>\n\n".
std::string sse_event(const LoggedEvent& event);
/// One event as a WebSocket text frame carries it: {"cursor": <cursor>, "event": {...}}.
std::string ws_event(const LoggedEvent& event);

/// Answers `request` (Accept: text/event-stream) with the events `reader` gives, until it ends.
asio::awaitable<void> serve_sse(net::StreamConnection& connection, const HttpRequest& request,
                                EventReader& reader);
/// Accepts `request` (an Upgrade: websocket) and sends the events `reader` gives, until it ends.
asio::awaitable<void> serve_websocket(net::StreamConnection& connection,
                                      const HttpRequest& request, EventReader& reader);

}  // namespace botgate::api
