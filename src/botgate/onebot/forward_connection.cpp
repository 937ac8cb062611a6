#include "botgate/onebot/forward_connection.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/onebot/bot_link.hpp"
#include "botgate/onebot/onebot_event.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::onebot {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Runs one action on the bot's strand (Actions' rule); `request` lives in this frame.
asio::awaitable<json::object> run_action(Actions& actions, ActionRequest request) {
  co_return co_await actions.run(request);
}

}  // namespace

struct ForwardConnection::Socket {
  Socket(net::StreamConnection& c) : connection(c), ws(c.stream()) {}
  net::StreamConnection& connection;
  websocket::stream<beast::tcp_stream&> ws;
  bool reading = true;
};

ForwardConnection::ForwardConnection(asio::any_io_executor executor, BotLink& link,
                                     ForwardRole role, std::string peer,
                                     ForwardConnectionOptions options)
    : executor_(executor),
      link_(link),
      role_(role),
      peer_(std::move(peer)),
      options_(options),
      connected_at_(std::chrono::system_clock::now()),
      wake_(executor),
      queue_(options.max_queued_events, options.max_queued_bytes) {}

bool ForwardConnection::offer(const std::string& frame, const std::shared_ptr<Delivery>& delivery) {
  std::size_t behind = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    if (!queue_.push_event(frame, delivery)) {
      closed_ = true;
      behind = queue_.events();
    }
  }
  if (behind > 0) {
    spdlog::warn("onebot bot '{}': forward connection from {} closed: it fell {} events behind "
                 "(it does not read what botgate sends)",
                 link_.identity().bot, peer_, behind);
    close(true);
    return false;
  }
  asio::post(executor_, [self = shared_from_this()] { self->wake(); });
  return true;
}

void ForwardConnection::close(bool abort) {
  asio::post(executor_, [self = shared_from_this(), abort] {
    self->closing_ = true;
    if (abort && self->socket_) {
      // A writer stuck on a framework that reads nothing ends only when the socket goes.
      boost::system::error_code ignored;
      self->socket_->connection.stream().socket().close(ignored);
    }
    self->wake();
  });
}

void ForwardConnection::wake() { wake_.cancel(); }

void ForwardConnection::drain() {
  std::vector<SendQueue::Item> left;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    left = queue_.take_all();
  }
  // Not written here: those events may have been written by another connection, or wait in
  // the inbox for the next one.
  for (SendQueue::Item& item : left) {
    if (item.delivery) item.delivery->settle(false);
  }
}

std::optional<SendQueue::Item> ForwardConnection::next_item() {
  std::lock_guard lock(mutex_);
  return queue_.pop();
}

asio::awaitable<bool> ForwardConnection::run(const HttpRequest& request,
                                             net::StreamConnection& connection) {
  Socket socket(connection);
  // Beast's own timers from here (the TCP stream's must be off): the handshake, and a ping
  // when the framework has been quiet for half the idle time.
  connection.stream().expires_never();
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(30);
  timeout.idle_timeout = options_.idle_timeout;
  timeout.keep_alive_pings = true;
  socket.ws.set_option(timeout);
  socket.ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "botgate"); }));
  socket.ws.read_message_max(options_.max_message_bytes);
  auto [accept_ec] = co_await socket.ws.async_accept(request, use_tuple);
  if (accept_ec) {
    drain();
    co_return false;
  }
  socket_ = &socket;
  connection.start_streaming([self = shared_from_this()] {
    self->closing_ = true;
    self->wake();
  });

  asio::steady_timer read_done(executor_, asio::steady_timer::time_point::max());
  asio::co_spawn(
      executor_,
      [](std::shared_ptr<ForwardConnection> self, Socket& s,
         asio::steady_timer& done) -> asio::awaitable<void> {
        try {
          co_await self->read_loop(s);
        } catch (const std::exception& e) {
          spdlog::error("onebot bot '{}': forward connection from {}: {}",
                        self->link_.identity().bot, self->peer_, e.what());
        }
        s.reading = false;
        self->closing_ = true;
        self->wake();
        done.cancel();
      }(shared_from_this(), socket, read_done),
      asio::detached);

  co_await write_loop(socket);

  drain();
  if (socket.reading) {
    const websocket::close_reason reason(websocket::close_code::going_away);
    auto [close_ec] = co_await socket.ws.async_close(reason, use_tuple);
    if (close_ec) connection.stream().cancel();
  }
  // The read refers to `socket`: it must have ended before this frame goes.
  if (socket.reading) co_await read_done.async_wait(use_tuple);
  socket_ = nullptr;
  co_return true;
}

asio::awaitable<void> ForwardConnection::write_loop(Socket& socket) {
  const std::int64_t self_id = link_.identity().self_id;
  const bool events = role_ != ForwardRole::api;
  auto write = [&socket](const std::string& text) -> asio::awaitable<bool> {
    socket.ws.text(true);
    auto [ec, n] = co_await socket.ws.async_write(asio::buffer(text), use_tuple);
    co_return !ec;
  };
  if (events) {
    const std::string hello =
        json::serialize(lifecycle_connect(self_id, std::chrono::system_clock::now()));
    if (!co_await write(hello)) co_return;
  }
  auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
  while (!closing_) {
    if (auto item = next_item()) {
      const bool written = co_await write(item->frame);
      if (item->delivery) item->delivery->settle(written);
      if (!written) break;
      continue;
    }
    if (events && std::chrono::steady_clock::now() >= next_beat) {
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
      const std::string beat = json::serialize(heartbeat_event(
          self_id, std::chrono::system_clock::now(), true, options_.heartbeat));
      if (!co_await write(beat)) break;
      continue;
    }
    wake_.expires_at(events ? next_beat : asio::steady_timer::time_point::max());
    co_await wake_.async_wait(use_tuple);
  }
}

asio::awaitable<void> ForwardConnection::read_loop(Socket& socket) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await socket.ws.async_read(buffer, use_tuple);
    if (ec) {
      if (!closing_ && ec != websocket::error::closed) {
        spdlog::info("onebot bot '{}': forward connection from {} lost: {}", link_.identity().bot,
                     peer_, ec.message());
      }
      co_return;
    }
    std::string frame = beast::buffers_to_string(buffer.data());
    buffer.consume(n);
    if (role_ == ForwardRole::event) continue;  // the event role takes no actions
    auto request = parse_action(frame);
    if (!request) {
      static LogRateLimit log_limit;  // a framework may send these as fast as it likes
      if (auto held = log_limit.admit()) {
        spdlog::info("onebot bot '{}': a frame from {} that is no action was ignored{}",
                     link_.identity().bot, peer_, suppressed_note(*held));
      }
      continue;
    }
    // One action after another: a framework's sends reach the outbox in the order it made them.
    auto running = run_action(link_.actions(), std::move(*request));
    json::object answer = co_await asio::co_spawn(link_.strand(), std::move(running),
                                                  asio::use_awaitable);
    if (closing_) co_return;
    {
      std::lock_guard lock(mutex_);
      if (closed_) co_return;
      queue_.push_answer(json::serialize(answer));
    }
    wake();
  }
}

}  // namespace botgate::onebot
