#include "botgate/api/event_streams.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <string_view>

namespace botgate::api {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// How long a client waits before it reconnects after the stream ended (the `retry:` field):
/// long enough for a restarted botgate to listen again.
constexpr std::string_view kRetry = "retry: 3000\n\n";
constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

asio::awaitable<bool> write_all(boost::beast::tcp_stream& stream, const std::string& bytes,
                                std::chrono::seconds timeout) {
  stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
  co_return !ec;
}

/// What a write left for later: nothing, the bytes the socket did not take, or a broken socket.
struct WriteLeft {
  bool broken = false;
  std::string rest = {};
};

/// Writes `body` as one chunk of a chunked body (or as it is for an HTTP/1.0 client, whose body
/// ends when the connection closes), as far as the socket takes it now. A client that keeps up
/// has room in its socket: the bytes go in one send, then and there, with no timer armed and no
/// completion queued (there is one write per wake-up of each of 1,000 clients, on the thread
/// that also takes the webhooks). What the socket does not take (a slow client) is returned for
/// an asynchronous write with the timeout.
WriteLeft write_chunk_now(boost::beast::tcp_stream& stream, std::string_view body, bool chunked) {
  char size[20];
  std::size_t size_length = 0;
  if (chunked) {
    const auto end = std::to_chars(size, size + sizeof size - 2, body.size(), 16).ptr;
    end[0] = '\r';
    end[1] = '\n';
    size_length = static_cast<std::size_t>(end + 2 - size);
  }
  const std::string_view trailer = chunked ? "\r\n" : "";
  const std::array<asio::const_buffer, 3> buffers{
      asio::buffer(size, size_length), asio::buffer(body), asio::buffer(trailer)};
  const std::size_t total = size_length + body.size() + trailer.size();
  boost::system::error_code ec;
  const std::size_t sent = stream.socket().write_some(buffers, ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return {true};
  if (!ec && sent == total) return {};
  WriteLeft left;
  left.rest.reserve(total);
  left.rest.append(size, size_length).append(body).append(trailer);
  left.rest.erase(0, ec ? 0 : sent);
  return left;
}

asio::awaitable<bool> write_chunk(boost::beast::tcp_stream& stream, std::string_view body,
                                  bool chunked) {
  WriteLeft left = write_chunk_now(stream, body, chunked);
  if (left.broken) co_return false;
  if (left.rest.empty()) co_return true;
  co_return co_await write_all(stream, left.rest, kStreamWriteTimeout);
}

void append_sse_event(std::string& out, const LoggedEvent& event) {
  // The Event JSON is one line (a newline in a value is escaped), so it is one data field.
  char cursor[24];
  const auto end = std::to_chars(cursor, cursor + sizeof cursor, event.cursor).ptr;
  out.append("id: ").append(cursor, end).append("\ndata: ").append(event.json).append("\n\n");
}

}  // namespace

std::string sse_event(const LoggedEvent& event) {
  std::string out;
  out.reserve(event.json.size() + 32);
  append_sse_event(out, event);
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
  // Sends without blocking (write_chunk); the asynchronous writes work as before.
  boost::system::error_code ignored;
  stream.socket().non_blocking(true, ignored);
  if (!co_await write_all(stream, head, kStreamWriteTimeout)) co_return;
  if (!co_await write_chunk(stream, kRetry, chunked)) co_return;
  std::string body;  // reused: no allocation per write once it has grown
  for (;;) {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + kStreamHeartbeat);
    if (!events) {
      spdlog::warn("api: an event stream ended: the store did not answer: {}",
                   events.error().message());
      break;
    }
    if (reader.stopped()) break;
    const auto delivering = std::chrono::steady_clock::now();
    body.clear();
    if (events->empty()) {
      body = kKeepAlive;
    } else {
      for (const EventFeed::Entry& event : *events) append_sse_event(body, *event);
    }
    WriteLeft left = write_chunk_now(stream, body, chunked);
    reader.spent(std::chrono::steady_clock::now() - delivering);
    if (left.broken) co_return;
    if (!left.rest.empty() && !co_await write_all(stream, left.rest, kStreamWriteTimeout)) {
      co_return;
    }
  }
  // A clean end: the client sees the body end (and reconnects after `retry`).
  if (chunked) co_await write_all(stream, "0\r\n\r\n", std::chrono::seconds(1));
}

}  // namespace botgate::api
