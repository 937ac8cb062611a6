#include "botgate/api/event_streams.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace botgate::api {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// How long a client waits before it reconnects after the stream ended (the `retry:` field):
/// long enough for a restarted botgate to listen again.
constexpr std::string_view kRetry = "retry: 3000\n\n";
constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

/// `body` as one chunk of a chunked body (or as it is for an HTTP/1.0 client, whose body ends
/// when the connection closes).
std::string framed(std::string_view body, bool chunked) {
  if (!chunked) return std::string(body);
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + body.size() + 2);
  out.append(size, static_cast<std::size_t>(n)).append(body).append("\r\n");
  return out;
}

asio::awaitable<bool> write_all(boost::beast::tcp_stream& stream, const std::string& bytes,
                            std::chrono::seconds timeout) {
  stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
  co_return !ec;
}

}  // namespace

std::string sse_event(const LoggedEvent& event) {
  // The Event JSON is one line (a newline in a value is escaped), so it is one data field.
  std::string out;
  out.reserve(event.json.size() + 32);
  out.append("id: ").append(std::to_string(event.cursor)).append("\ndata: ");
  out.append(event.json).append("\n\n");
  return out;
}

asio::awaitable<void> serve_sse(net::StreamConnection& connection, const HttpRequest& request,
                                EventReader& reader) {
  connection.start_streaming([&reader] { reader.stop(); });
  boost::beast::tcp_stream& stream = connection.stream();
  const bool chunked = request.version() >= 11;
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: botgate\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n";
  if (chunked) head += "Transfer-Encoding: chunked\r\n";
  head += "\r\n";
  head += framed(kRetry, chunked);
  if (!co_await write_all(stream, head, kStreamWriteTimeout)) co_return;
  for (;;) {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + kStreamHeartbeat);
    if (!events) {
      spdlog::warn("api: an event stream ended: the store did not answer: {}",
                   events.error().message());
      break;
    }
    if (reader.stopped()) break;
    std::string body;
    if (events->empty()) {
      body = kKeepAlive;
    } else {
      for (const EventFeed::Entry& event : *events) body += sse_event(*event);
    }
    if (!co_await write_all(stream, framed(body, chunked), kStreamWriteTimeout)) co_return;
  }
  // A clean end: the client sees the body end (and reconnects after `retry`).
  if (chunked) co_await write_all(stream, "0\r\n\r\n", std::chrono::seconds(1));
}

}  // namespace botgate::api
