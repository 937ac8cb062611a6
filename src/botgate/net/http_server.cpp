#include "botgate/net/http_server.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/net/http_wire.hpp"
#include "botgate/net/request_framing.hpp"
#include "botgate/net/url.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

namespace botgate::net {
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// Room for a whole callback (headers and an encrypted body) in one receive.
constexpr std::size_t kReadBufferBytes = 4096;
/// After refusing a request that was not read to its end, the server reads and drops what the
/// client still sends for this long (and at most kLingerBytes) before closing, as nginx's
/// lingering close does: closing a socket with unread data sends a reset, which can destroy the
/// answer before the client has read it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 4 << 20;
/// The pause after a failed accept grows from the first to the last, and is reset by an accept
/// that succeeds: a full file table leaves the connection in the backlog, and accepting again at
/// once would fail again at once, in a hot loop.
constexpr auto kAcceptPauseFirst = std::chrono::milliseconds(10);
constexpr auto kAcceptPauseMax = std::chrono::milliseconds(100);

/// Log lines that every refused request or failed accept would write: at most one a second each.
LogRateLimit accept_failed_log;
LogRateLimit refused_log;
LogRateLimit timeout_log;

/// Errors that come from out of resources rather than from the connection being accepted.
bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||  // EMFILE
         ec == boost::system::errc::too_many_files_open_in_system ||  // ENFILE
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}
}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const Router& router, HttpServerOptions options)
      : io_(io),
        router_(router),
        options_(std::move(options)),
        accept_strand_(asio::make_strand(io)),
        acceptor_(accept_strand_),
        wait_timer_(accept_strand_) {
    options_.max_connections = std::max<std::size_t>(options_.max_connections, 1);
  }

  asio::io_context& io_;
  const Router& router_;
  HttpServerOptions options_;
  /// The accept loop, the acceptor and wait_timer_ live on this strand.
  asio::strand<asio::io_context::executor_type> accept_strand_;
  tcp::acceptor acceptor_;
  /// The accept loop's pause: after a failed accept, or at the cap until a connection ends.
  asio::steady_timer wait_timer_;
  std::uint16_t port_ = 0;

  /// One accepted connection. The session coroutine runs on its executor; the atomics are read
  /// by the accept loop, which picks the connection to close when the cap is near.
  struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    /// Waiting for the first byte of a request (or lingering after a refusal): closing it loses
    /// no request. Written on the connection's executor only.
    std::atomic<bool> idle{false};
    /// When it became idle (steady clock ticks): the oldest idle connection is closed first.
    std::atomic<std::int64_t> idle_since{0};
    /// The accept loop asked for it to be closed; not picked again meanwhile.
    std::atomic<bool> closing{false};
    /// A route streams on it (StreamConnection::start_streaming); `on_stop` (its executor
    /// only) ends the stream when the server stops.
    std::atomic<bool> streaming{false};
    std::function<void()> on_stop;
  };

  /// The StreamConnection a streaming route gets: the session's connection and buffer.
  class SessionStream final : public StreamConnection {
   public:
    SessionStream(Impl& server, std::shared_ptr<Connection> connection,
                  beast::flat_buffer& buffer)
        : server_(server), connection_(std::move(connection)), buffer_(buffer) {}
    beast::tcp_stream& stream() override { return connection_->stream; }
    beast::flat_buffer& buffer() override { return buffer_; }
    void start_streaming(std::function<void()> on_stop) override {
      if (streaming_) return;
      streaming_ = true;
      --server_.in_flight_;
      connection_->on_stop = std::move(on_stop);
      connection_->streaming = true;
      // Read after the flag is set: a stop() that ran before it is seen here, one after it
      // sees the flag and posts the hook itself.
      if (server_.is_stopping()) server_.post_stop(connection_);
    }
    bool streaming() const noexcept { return streaming_; }

   private:
    Impl& server_;
    std::shared_ptr<Connection> connection_;
    beast::flat_buffer& buffer_;
    bool streaming_ = false;
  };

  /// Calls the connection's stream stop hook on its executor, once.
  static void post_stop(const std::shared_ptr<Connection>& connection) {
    asio::post(connection->stream.get_executor(), [connection] {
      if (auto hook = std::exchange(connection->on_stop, nullptr)) hook();
    });
  }

  // Guards `sessions_`, `stopping_` and `closed_`: sessions live on their own strands, stop()
  // and close() run on any thread.
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::weak_ptr<Connection>> sessions_;
  std::uint64_t next_session_ = 0;
  bool stopping_ = false;
  bool closed_ = false;
  /// The accept loop waits for a connection to end or become idle: sessions then wake it.
  std::atomic<bool> waiting_for_room_{false};
  std::atomic<std::size_t> in_flight_{0};
  /// Connections asked to close (Connection::closing) that have not ended yet: the accept loop
  /// does not close another one for the same room.
  std::atomic<std::size_t> closes_pending_{0};
  std::atomic<std::uint64_t> accept_failures_{0};

  std::size_t open_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

  /// Closes the connection that has waited longest for a request; false when none waits.
  bool close_oldest_idle() {
    std::shared_ptr<Connection> oldest;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, weak] : sessions_) {
        auto connection = weak.lock();
        if (!connection || !connection->idle || connection->closing) continue;
        if (!oldest || connection->idle_since < oldest->idle_since) oldest = std::move(connection);
      }
    }
    if (!oldest) return false;
    oldest->closing = true;
    ++closes_pending_;
    // Cancelled on the connection's own executor, and only if it still waits: a request that
    // began meanwhile is served.
    asio::post(oldest->stream.get_executor(), [self = shared_from_this(), oldest] {
      if (oldest->idle) {
        oldest->stream.cancel();
      } else {
        self->forget_close(*oldest);
      }
    });
    return true;
  }

  /// The connection is no longer one the accept loop waits for: it ended, or a request began.
  void forget_close(Connection& connection) {
    if (connection.closing.exchange(false)) --closes_pending_;
  }

  /// Open connections not already asked to close.
  std::size_t staying_count() const {
    const std::size_t open = open_count();
    const std::size_t closing = closes_pending_;
    return open > closing ? open - closing : 0;
  }

  /// Wakes the accept loop if it waits for room (a connection ended or became idle).
  void room_changed() {
    if (!waiting_for_room_) return;
    asio::post(accept_strand_, [self = shared_from_this()] { self->wait_timer_.cancel(); });
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    const std::size_t cap = options_.max_connections;
    // Near the cap (the last 1/16 of it), each new connection closes the oldest idle one, so
    // that idle connections make room before the cap stops the accepting. A connection is
    // accepted at the cap too (there is no knowing that one waits otherwise) and the oldest
    // idle one closed for it: at most cap + 1 are open, and the one over only while none idles.
    const std::size_t near_cap = cap - cap / 16;
    auto pause = std::chrono::milliseconds(0);
    for (;;) {
      // Over the cap (the last connection accepted found none idle to close): accept nothing
      // more until one ends or turns idle (then it is closed). The flag is set before the count
      // is read, so a session that changes after the read sees it and wakes this loop.
      for (;;) {
        waiting_for_room_ = true;
        if (open_count() <= cap || !acceptor_.is_open()) break;
        const bool closing = staying_count() > cap ? close_oldest_idle() : true;
        wait_timer_.expires_after(closing ? std::chrono::milliseconds(100)
                                          : std::chrono::milliseconds(1000));
        co_await wait_timer_.async_wait(use_tuple);
      }
      waiting_for_room_ = false;
      if (!acceptor_.is_open()) co_return;
      const asio::any_io_executor executor =
          options_.strand_per_connection ? asio::any_io_executor(asio::make_strand(io_))
                                         : asio::any_io_executor(io_.get_executor());
      auto [ec, socket] = co_await acceptor_.async_accept(executor, use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        ++accept_failures_;
        if (auto held = accept_failed_log.admit()) {
          spdlog::warn("http server: accept failed: {}{}", ec.message(), suppressed_note(*held));
        }
        if (ec == asio::error::connection_aborted) continue;  // that client gave up; no pause
        // Out of descriptors: an idle connection gives one back.
        if (out_of_resources(ec)) close_oldest_idle();
        pause = pause.count() == 0 ? kAcceptPauseFirst : std::min(pause * 2, kAcceptPauseMax);
        wait_timer_.expires_after(pause);
        co_await wait_timer_.async_wait(use_tuple);
        continue;
      }
      pause = std::chrono::milliseconds(0);
      auto connection = std::make_shared<Connection>(std::move(socket));
      std::uint64_t id = 0;
      std::size_t open = 0;
      {
        std::lock_guard lock(mutex_);
        if (closed_) co_return;
        id = next_session_++;
        sessions_[id] = connection;
        open = sessions_.size();
      }
      asio::co_spawn(connection->stream.get_executor(), session(connection, id), asio::detached);
      if (open > near_cap && staying_count() > near_cap) close_oldest_idle();
    }
  }

  void set_idle(Connection& connection, bool idle) {
    if (idle) {
      connection.idle_since = std::chrono::steady_clock::now().time_since_epoch().count();
      connection.idle = true;
      room_changed();
    } else {
      connection.idle = false;
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> connection, std::uint64_t id) {
    auto self = shared_from_this();
    beast::tcp_stream& stream = connection->stream;
    beast::flat_buffer buffer;
    // Beast reads into what the buffer has free (at least 512 bytes): with the few hundred bytes
    // a flat_buffer grows to, a 1.5 KiB signed callback took two or three receives.
    buffer.reserve(kReadBufferBytes);
    bool linger = false;
    for (bool first = true;; first = false) {
      // The header deadline is a total: from the accept for the first request, from its first
      // byte for a later one. A client trickling a byte at a time is closed when it passes.
      if (first) stream.expires_after(options_.header_timeout);
      if (buffer.size() == 0) {
        // Waiting for a request. Reading its first byte here (into the buffer the parser reads
        // from) is what tells an idle connection, which the cap may close, from a busy one.
        if (!first) stream.expires_after(options_.idle_timeout);
        set_idle(*connection, true);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadBufferBytes),
                                                       use_tuple);
        set_idle(*connection, false);
        if (ec) break;  // closed by the client, idle too long, or closed to make room
        forget_close(*connection);  // a close that came too late for the wait: served
        buffer.commit(n);
        if (!first) stream.expires_after(options_.header_timeout);
      } else if (!first) {
        stream.expires_after(options_.header_timeout);  // a pipelined request
      }
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(options_.max_body_bytes);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      if (hec) {
        if (hec == http::error::header_limit) {
          co_await refuse(stream, http::status::request_header_fields_too_large,
                          "headers too large", "the header is over 16 KiB");
          linger = true;
        } else if (hec == http::error::body_limit) {
          // Beast checks a declared Content-Length against the limit while parsing the header.
          co_await refuse(stream, http::status::payload_too_large, "body too large",
                          "declared body over the limit of " +
                              std::to_string(options_.max_body_bytes) + " bytes");
          linger = true;
        } else if (hec == beast::error::timeout) {
          log_timeout(stream, "header");
        } else if (hec != http::error::end_of_stream && hec != http::error::partial_message &&
                   hec != asio::error::operation_aborted && hec != asio::error::eof &&
                   hec != asio::error::connection_reset) {
          co_await refuse(stream, http::status::bad_request, "bad request", hec.message());
          linger = true;
        }
        break;
      }
      if (auto problem = framing_problem(parser.get())) {
        co_await refuse(stream, problem->status,
                        problem->status == http::status::not_implemented ? "not implemented"
                                                                         : "bad request",
                        problem->why);
        linger = true;
        break;
      }
      // A small request (a callback) usually arrives whole with its header: no second read.
      beast::error_code bec;
      if (!parser.is_done()) {
        stream.expires_after(options_.body_timeout);
        std::size_t read = 0;
        std::tie(bec, read) = co_await http::async_read(stream, buffer, parser, use_tuple);
      }
      if (bec) {
        if (bec == http::error::body_limit) {
          co_await refuse(stream, http::status::payload_too_large, "body too large",
                          "body over the limit of " + std::to_string(options_.max_body_bytes) +
                              " bytes");
          linger = true;
        } else if (bec == beast::error::timeout) {
          log_timeout(stream, "body");
        } else if (bec != asio::error::operation_aborted && bec != asio::error::eof &&
                   bec != asio::error::connection_reset && bec != http::error::partial_message) {
          co_await refuse(stream, http::status::bad_request, "bad request", bec.message());
          linger = true;
        }
        break;
      }
      HttpRequest request = parser.release();
      if (is_stopping()) {
        // Draining: not handled, so the platform delivers it again (to the next process).
        HttpResponse response =
            make_response(http::status::service_unavailable, R"({"error":"shutting down"})");
        response.version(request.version());
        response.set(http::field::retry_after, "1");
        co_await reply(stream, std::move(response), false);
        break;
      }
      ++in_flight_;
      SessionStream streamed(*this, connection, buffer);
      HttpAnswer answer = co_await router_.dispatch(request, &streamed);
      if (streamed.streaming()) {
        // The stream is over: a stop from now on has nothing to end (the hook refers to the
        // route's frame, which is gone).
        connection->streaming = false;
        connection->on_stop = nullptr;
      }
      if (answer.connection_taken) {
        if (!streamed.streaming()) --in_flight_;
        break;
      }
      if (streamed.streaming()) ++in_flight_;  // counted down below, as any request
      bool keep_alive = request.keep_alive() && !is_stopping();
      answer.response.version(request.version());
      const bool written = co_await reply(stream, std::move(answer.response), keep_alive);
      if (answer.after_write) answer.after_write(written);
      --in_flight_;
      if (!written || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (linger) co_await drain_input(*connection, buffer);
    {
      std::lock_guard lock(mutex_);
      sessions_.erase(id);
    }
    forget_close(*connection);
    room_changed();
  }

  /// Reads and drops what the client still sends after a refusal, until it closes or the
  /// linger time passes (see kLingerTime). The connection counts as idle meanwhile.
  asio::awaitable<void> drain_input(Connection& connection, beast::flat_buffer& buffer) {
    connection.stream.expires_after(kLingerTime);
    set_idle(connection, true);
    std::size_t dropped = 0;
    while (dropped < kLingerBytes) {
      buffer.clear();
      auto [ec, n] = co_await connection.stream.async_read_some(buffer.prepare(kReadBufferBytes),
                                                                use_tuple);
      if (ec) break;
      dropped += n;
    }
    set_idle(connection, false);
  }

  /// Answers a request that is not served, and logs why (at most one line a second).
  asio::awaitable<void> refuse(beast::tcp_stream& stream, http::status status,
                               std::string_view error, const std::string& why) {
    if (auto held = refused_log.admit()) {
      spdlog::warn("http server: {} to {}: {}{}", static_cast<unsigned>(status), peer(stream), why,
                   suppressed_note(*held));
    }
    std::string body = R"({"error":")" + std::string(error) + R"("})";
    co_await reply(stream, make_response(status, std::move(body)), false);
  }

  void log_timeout(beast::tcp_stream& stream, const char* part) {
    if (auto held = timeout_log.admit()) {
      spdlog::info("http server: {} closed: the request {} took too long{}", peer(stream), part,
                   suppressed_note(*held));
    }
  }

  static std::string peer(beast::tcp_stream& stream) {
    beast::error_code ec;
    const auto endpoint = stream.socket().remote_endpoint(ec);
    if (ec) return "a client";
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  asio::awaitable<bool> reply(beast::tcp_stream& stream, HttpResponse response, bool keep_alive) {
    response.keep_alive(keep_alive);
    response.set(http::field::server, "botgate");
    response.prepare_payload();
    // Serialised into one buffer and written with one send: Beast's serializer walks the
    // fields through a chain of buffer views, a cost per response as large as the send itself.
    const std::string wire = serialize(response);
    stream.expires_after(options_.body_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
    co_return !ec;
  }

  bool is_stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

HttpServer::~HttpServer() { close(); }

Result<void> HttpServer::start() {
  auto host_port = split_host_port(impl_->options_.listen);
  if (!host_port) {
    return Error{errc::invalid_argument, "listen address '" + impl_->options_.listen +
                                             "' is not host:port"};
  }
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->io_);
  auto endpoints = resolver.resolve(host_port->first, std::to_string(host_port->second),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Error{errc::invalid_argument,
                 "cannot resolve listen address '" + impl_->options_.listen + "'"};
  }
  const tcp::endpoint endpoint = *endpoints.begin();
  auto& acceptor = impl_->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{errc::invalid_argument,
                 "cannot listen on " + impl_->options_.listen + ": " + ec.message()};
  }
  impl_->port_ = acceptor.local_endpoint().port();
  asio::co_spawn(impl_->accept_strand_, impl_->accept_loop(), asio::detached);
  return {};
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port_; }

void HttpServer::stop() {
  std::vector<std::shared_ptr<Impl::Connection>> streams;
  {
    std::lock_guard lock(impl_->mutex_);
    // Sessions check this before handling each request; idle ones stay open and get 503 if a
    // request comes, so that a platform holding a kept-alive connection sees an answer.
    impl_->stopping_ = true;
    for (auto& [id, weak] : impl_->sessions_) {
      auto connection = weak.lock();
      if (connection && connection->streaming) streams.push_back(std::move(connection));
    }
  }
  // Streams (the event stream) never end by themselves: they are told to end now, so that the
  // drain does not wait for them.
  for (auto& connection : streams) Impl::post_stop(connection);
}

void HttpServer::close() {
  std::vector<std::shared_ptr<Impl::Connection>> open;
  {
    std::lock_guard lock(impl_->mutex_);
    if (impl_->closed_) return;
    impl_->stopping_ = true;
    impl_->closed_ = true;
    for (auto& [id, weak] : impl_->sessions_) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  asio::post(impl_->accept_strand_, [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor_.close(ignored);
    impl->wait_timer_.cancel();
  });
  // On each connection's own executor: a session never sees its socket closed under it. A
  // stream that waits for its next event (not on the socket) is told to end as at stop().
  for (auto& connection : open) {
    asio::post(connection->stream.get_executor(), [connection] {
      if (auto hook = std::exchange(connection->on_stop, nullptr)) hook();
      connection->stream.close();
    });
  }
}

std::size_t HttpServer::open_connections() const { return impl_->open_count(); }

std::size_t HttpServer::requests_in_flight() const { return impl_->in_flight_; }

std::uint64_t HttpServer::accept_failures() const { return impl_->accept_failures_; }

}  // namespace botgate::net
