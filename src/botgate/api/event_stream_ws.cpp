#include "botgate/api/event_streams.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace botgate::api {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using Socket = websocket::stream<beast::tcp_stream&>;

/// At most this much of one frame's write counts as the client's cost (EventReader::spent).
constexpr std::chrono::microseconds kWriteAccountedAtMost{200};

/// The client's frames are read (and dropped) all along: that is how Beast answers pings,
/// sees the pongs of its own pings and the client's close. Ends the reader when the client is
/// gone, then says so through `done`.
asio::awaitable<void> read_until_closed(Socket& ws, EventReader& reader, bool& reading,
                                        asio::steady_timer& done) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buffer, use_tuple);
    if (ec) break;
    buffer.consume(n);
  }
  reading = false;
  reader.stop();
  done.cancel();
}

}  // namespace

std::string ws_event(const LoggedEvent& event) {
  std::string out;
  out.reserve(event.json.size() + 32);
  out.append(R"({"cursor":)").append(std::to_string(event.cursor)).append(R"(,"event":)");
  out.append(event.json).append("}");
  return out;
}

asio::awaitable<void> serve_websocket(net::StreamConnection& connection,
                                      const HttpRequest& request, EventReader& reader) {
  Socket ws(connection.stream());
  // Beast's own timers from here: the handshake, and a ping when the client has been quiet for
  // half the idle time; a client that answers nothing within it (gone, or not reading) is
  // closed.
  connection.stream().expires_never();
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(30);
  timeout.idle_timeout = std::chrono::seconds(2 * kStreamHeartbeat.count());
  timeout.keep_alive_pings = true;
  ws.set_option(timeout);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "botgate"); }));
  ws.read_message_max(64 * 1024);  // the client has nothing to say but control frames
  auto [accept_ec] = co_await ws.async_accept(request, use_tuple);
  if (accept_ec) co_return;
  connection.start_streaming([&reader] { reader.stop(); });

  const auto executor = connection.stream().get_executor();
  bool reading = true;
  asio::steady_timer read_done(executor, asio::steady_timer::time_point::max());
  asio::co_spawn(executor, read_until_closed(ws, reader, reading, read_done), asio::detached);

  bool broken = false;
  while (!broken) {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + std::chrono::hours(1));
    if (!events) {
      spdlog::warn("api: an event stream ended: the store did not answer: {}",
                   events.error().message());
      break;
    }
    if (reader.stopped()) break;
    for (const EventFeed::Entry& event : *events) {
      const auto delivering = std::chrono::steady_clock::now();
      const std::string text = ws_event(*event);
      ws.text(true);
      auto [ec, n] = co_await ws.async_write(asio::buffer(text), use_tuple);
      // The write's system call is made when it starts; the rest of the wait is other work on
      // the thread, or a client that reads slowly, neither of which this client's share pays.
      reader.spent(std::min<std::chrono::steady_clock::duration>(
          std::chrono::steady_clock::now() - delivering, kWriteAccountedAtMost));
      if (ec) {
        broken = true;
        break;
      }
    }
  }
  if (reading) {
    if (broken) {
      connection.stream().cancel();  // the read ends too
    } else {
      const websocket::close_reason reason(websocket::close_code::going_away);
      auto [close_ec] = co_await ws.async_close(reason, use_tuple);
      if (close_ec) connection.stream().cancel();
    }
  }
  // The read refers to `ws`: it must have ended before this frame goes.
  if (reading) co_await read_done.async_wait(use_tuple);
}

}  // namespace botgate::api
