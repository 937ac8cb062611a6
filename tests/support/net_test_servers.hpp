#pragma once
/// Loopback servers for network client tests: an HTTP/1.1 server (plain or TLS), a WebSocket
/// server (plain or TLS) and an HTTP CONNECT proxy, each on 127.0.0.1 port 0 with an io_context
/// on its own thread.
///
/// Header-only: botgate_test_support does not link OpenSSL, and the test binaries that use this
/// get Asio, Beast and OpenSSL through botgate_net (botgate_asio compiles them once).

#include "botgate/core/http.hpp"
#include "support/testdata.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace botgate::test {

namespace net_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

inline tcp::endpoint loopback(unsigned short port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

/// Reads and discards until the peer closes or the socket is closed: a peer that never answers.
inline asio::awaitable<void> drain(tcp::socket& socket) {
  std::array<char, 4096> scratch{};
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), kTuple);
    if (ec) {
      co_return;
    }
  }
}
/// Accepts connections until the acceptor fails or is closed, running `session(socket)` (an
/// awaitable) for each on a coroutine of its own.
template <class Session>
asio::awaitable<void> accept_each(tcp::acceptor acceptor, Session session) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      co_return;
    }
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

/// Listens on 127.0.0.1 port 0, running `session(socket)` for each connection (see
/// accept_each); returns the port.
template <class Session>
unsigned short listen_loopback(asio::io_context& io, Session session) {
  tcp::acceptor acceptor(io, loopback(0));
  const unsigned short port = acceptor.local_endpoint().port();
  asio::co_spawn(io, accept_each(std::move(acceptor), std::move(session)), asio::detached);
  return port;
}
}  // namespace net_detail

/// An io_context running on its own thread. `shutdown()` stops it, joins the thread and
/// destroys the context, which destroys every coroutine still suspended on it.
class IoThread {
 public:
  IoThread() : ioc_(std::in_place), guard_(asio_work(*ioc_)), thread_([this] { ioc_->run(); }) {}
  ~IoThread() { shutdown(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& context() { return *ioc_; }

  /// Runs `fn` on the thread and waits for it to finish.
  void call(std::function<void()> fn) {
    std::packaged_task<void()> task(std::move(fn));
    auto done = task.get_future();
    boost::asio::post(*ioc_, [&task] { task(); });
    done.get();
  }

  void shutdown() {
    if (!thread_.joinable()) {
      return;
    }
    guard_.reset();
    ioc_->stop();
    thread_.join();
    ioc_.reset();
  }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  static Guard asio_work(boost::asio::io_context& ioc) { return Guard(ioc.get_executor()); }

  std::optional<boost::asio::io_context> ioc_;
  std::optional<Guard> guard_;
  std::thread thread_;
};

enum class TestServerMode {
  answer,            // read requests, answer each with the handler
  silent,            // accept, then never read or answer (no TLS handshake either)
  close_on_request,  // read a request, then close without answering
};

struct TestServerOptions {
  bool tls = false;
  TestServerMode mode = TestServerMode::answer;
};

/// A loopback HTTP/1.1 server, plain or TLS (tests/testdata/net/server.pem, signed by ca.pem).
/// It records every request, counts accepted connections, and answers with `handler` (by
/// default an echo: 200, body "<method> <target>\n<request body>", header x-echo = x-test).
class TestHttpServer {
 public:
  using Mode = TestServerMode;
  using Options = TestServerOptions;
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit TestHttpServer(Options options = {}, Handler handler = echo)
      : tls_(options.tls), mode_(options.mode), handler_(std::move(handler)),
        tls_context_(boost::asio::ssl::context::tls_server) {
    if (tls_) {
      tls_context_.use_certificate_chain_file(testdata_path("net/server.pem"));
      tls_context_.use_private_key_file(testdata_path("net/server.key"),
                                        boost::asio::ssl::context::pem);
    }
    auto sessions = [this](net_detail::tcp::socket socket) {
      ++accepted_;
      return session(std::move(socket));
    };
    port_ = net_detail::listen_loopback(io_.context(), sessions);
  }

  ~TestHttpServer() { io_.shutdown(); }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  static HttpResponse echo(const HttpRequest& request) {
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, "text/plain");
    if (auto it = request.find("x-test"); it != request.end()) {
      response.set("x-echo", it->value());
    }
    response.body() = std::string(request.method_string()) + " " +
                      std::string(request.target()) + "\n" + request.body();
    return response;
  }

  unsigned short port() const { return port_; }
  /// "http(s)://127.0.0.1:<port><target>"
  std::string url(std::string_view target = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           std::string(target);
  }
  int connections_accepted() const { return accepted_.load(); }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void set_mode(Mode mode) { mode_.store(mode); }

  /// Closes every open server-side connection (a server dropping idle keep-alive connections)
  /// and returns once they are closed.
  void close_connections() {
    io_.call([this] {
      auto open = open_;  // closing completes reads later, but keep iteration independent
      for (auto* stream : open) {
        boost::system::error_code ignored;
        stream->socket().shutdown(net_detail::tcp::socket::shutdown_both, ignored);
        stream->close();
      }
    });
  }

 private:
  using PlainStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  /// Keeps a session's stream in `open_` while the session runs (io thread only).
  class Registration {
   public:
    Registration(std::list<PlainStream*>& open, PlainStream* stream)
        : open_(open), it_(open.insert(open.end(), stream)) {}
    ~Registration() { open_.erase(it_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    std::list<PlainStream*>& open_;
    std::list<PlainStream*>::iterator it_;
  };

  boost::asio::awaitable<void> session(net_detail::tcp::socket socket) {
    if (mode_.load() == Mode::silent) {
      co_await net_detail::drain(socket);
      co_return;
    }
    if (!tls_) {
      PlainStream stream(std::move(socket));
      Registration registration(open_, &stream);
      co_await serve(stream);
      co_return;
    }
    TlsStream stream(std::move(socket), tls_context_);
    Registration registration(open_, &boost::beast::get_lowest_layer(stream));
    auto [ec] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server,
                                                net_detail::kTuple);
    if (!ec) {
      co_await serve(stream);
    }
  }

  template <class Stream>
  boost::asio::awaitable<void> serve(Stream& stream) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      HttpRequest request;
      auto [read_ec, read] = co_await http::async_read(stream, buffer, request, net_detail::kTuple);
      if (read_ec) {
        co_return;
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      if (mode_.load() == Mode::close_on_request) {
        co_return;  // the stream closes as the session ends
      }
      HttpResponse response = handler_(request);
      response.version(11);
      response.keep_alive(response.keep_alive() && request.keep_alive());
      response.prepare_payload();
      error_code write_ec;
      if (request.method() == http::verb::head) {
        // A HEAD answer carries the headers of a GET, without the body.
        http::response<http::empty_body> head{response.base()};
        auto [ec, written] = co_await http::async_write(stream, head, net_detail::kTuple);
        write_ec = ec;
      } else {
        auto [ec, written] = co_await http::async_write(stream, response, net_detail::kTuple);
        write_ec = ec;
      }
      if (write_ec || !response.keep_alive()) {
        co_return;
      }
    }
  }

  const bool tls_;
  std::atomic<Mode> mode_;
  Handler handler_;
  boost::asio::ssl::context tls_context_;
  unsigned short port_ = 0;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;  // guards requests_
  std::vector<HttpRequest> requests_;
  std::list<PlainStream*> open_;  // io thread only
  IoThread io_;                   // last: shut down first, in the destructor
};

struct TestWsServerOptions {
  bool tls = false;
  /// When set, each connection is closed by the server right after the upgrade with this code
  /// and `close_reason`; otherwise every message is echoed back (text as text, binary as
  /// binary).
  std::optional<std::uint16_t> close_code;
  std::string close_reason;
};

/// A loopback WebSocket server, plain or TLS (the certificates of TestHttpServer). It records
/// every upgrade request and how each session ended.
class TestWsServer {
 public:
  using Options = TestWsServerOptions;

  /// How a session ended, seen from the server.
  struct SessionEnd {
    /// The error that ended the session's last read: websocket::error::closed after a close
    /// handshake, something else (eof, reset) after an abnormal closure.
    boost::system::error_code error;
    /// The close code the client sent, when `error` is websocket::error::closed.
    std::uint16_t close_code = 0;
  };

  explicit TestWsServer(Options options = {})
      : options_(std::move(options)), tls_context_(boost::asio::ssl::context::tls_server) {
    if (options_.tls) {
      tls_context_.use_certificate_chain_file(testdata_path("net/server.pem"));
      tls_context_.use_private_key_file(testdata_path("net/server.key"),
                                        boost::asio::ssl::context::pem);
    }
    auto sessions = [this](net_detail::tcp::socket socket) { return session(std::move(socket)); };
    port_ = net_detail::listen_loopback(io_.context(), sessions);
  }
  ~TestWsServer() { io_.shutdown(); }
  TestWsServer(const TestWsServer&) = delete;
  TestWsServer& operator=(const TestWsServer&) = delete;

  unsigned short port() const { return port_; }
  /// "ws(s)://127.0.0.1:<port><target>"
  std::string url(std::string_view target = "/") const {
    return std::string(options_.tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port_) +
           std::string(target);
  }
  /// The upgrade requests received, in order.
  std::vector<HttpRequest> upgrade_requests() const {
    std::lock_guard lock(mutex_);
    return upgrades_;
  }
  /// Waits up to `timeout` for the next session to end (first call: the first session).
  std::optional<SessionEnd> wait_session_end(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ended_changed_.wait_for(lock, timeout, [this] { return ends_.size() > ends_taken_; })) {
      return std::nullopt;
    }
    return ends_[ends_taken_++];
  }

 private:
  using tcp = net_detail::tcp;
  using PlainStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  template <class Next>
  using WsStream = boost::beast::websocket::stream<Next>;

  boost::asio::awaitable<void> session(tcp::socket socket) {
    if (!options_.tls) {
      WsStream<PlainStream> ws(std::move(socket));
      co_await serve(ws);
      co_return;
    }
    WsStream<TlsStream> ws(std::move(socket), tls_context_);
    auto [ec] = co_await ws.next_layer().async_handshake(boost::asio::ssl::stream_base::server,
                                                         net_detail::kTuple);
    if (!ec) {
      co_await serve(ws);
    }
  }

  template <class Next>
  boost::asio::awaitable<void> serve(WsStream<Next>& ws) {
    namespace websocket = boost::beast::websocket;
    boost::beast::flat_buffer buffer;
    HttpRequest request;
    auto [read_ec, read] =
        co_await http::async_read(ws.next_layer(), buffer, request, net_detail::kTuple);
    if (read_ec) {
      co_return;
    }
    {
      std::lock_guard lock(mutex_);
      upgrades_.push_back(request);
    }
    auto [accept_ec] = co_await ws.async_accept(request, net_detail::kTuple);
    if (accept_ec) {
      co_return;
    }
    if (options_.close_code) {
      websocket::close_reason reason;
      reason.code = *options_.close_code;
      reason.reason = options_.close_reason;
      auto [close_ec] = co_await ws.async_close(reason, net_detail::kTuple);
      record_end(close_ec, 0);
      co_return;
    }
    boost::beast::flat_buffer message;
    for (;;) {
      auto [ec, size] = co_await ws.async_read(message, net_detail::kTuple);
      if (ec) {
        record_end(ec, ec == websocket::error::closed ? ws.reason().code : 0);
        co_return;
      }
      ws.text(ws.got_text());
      auto [write_ec, written] = co_await ws.async_write(message.data(), net_detail::kTuple);
      message.consume(message.size());
      if (write_ec) {
        record_end(write_ec, 0);
        co_return;
      }
    }
  }

  void record_end(boost::system::error_code ec, std::uint16_t close_code) {
    {
      std::lock_guard lock(mutex_);
      ends_.push_back(SessionEnd{ec, close_code});
    }
    ended_changed_.notify_all();
  }

  const Options options_;
  boost::asio::ssl::context tls_context_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;  // guards upgrades_, ends_, ends_taken_
  std::condition_variable ended_changed_;
  std::vector<HttpRequest> upgrades_;
  std::vector<SessionEnd> ends_;
  std::size_t ends_taken_ = 0;
  IoThread io_;  // last: shut down first, in the destructor
};

/// A loopback HTTP CONNECT proxy. It records the authority of every CONNECT and, in `tunnel`
/// mode, answers 200 and pipes bytes both ways to 127.0.0.1:<upstream_port>, whatever
/// authority was asked for (so a test can reach a local server under any host name).
class TestConnectProxy {
 public:
  enum class Mode {
    tunnel,  // 200, then pipe
    deny,    // 403
    silent,  // read the CONNECT, never answer
  };

  explicit TestConnectProxy(unsigned short upstream_port, Mode mode = Mode::tunnel)
      : upstream_port_(upstream_port), mode_(mode) {
    auto sessions = [this](net_detail::tcp::socket socket) { return session(std::move(socket)); };
    port_ = net_detail::listen_loopback(io_.context(), sessions);
  }
  ~TestConnectProxy() { io_.shutdown(); }
  TestConnectProxy(const TestConnectProxy&) = delete;
  TestConnectProxy& operator=(const TestConnectProxy&) = delete;

  /// "http://127.0.0.1:<port>"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// The request targets of the CONNECTs received ("host:port"), in order.
  std::vector<std::string> authorities() const {
    std::lock_guard lock(mutex_);
    return authorities_;
  }

 private:
  using tcp = net_detail::tcp;

  boost::asio::awaitable<void> session(tcp::socket client) {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    auto [read_ec, read] = co_await http::async_read(client, buffer, parser, net_detail::kTuple);
    if (read_ec || parser.get().method() != http::verb::connect) {
      co_return;
    }
    {
      std::lock_guard lock(mutex_);
      authorities_.emplace_back(parser.get().target());
    }
    if (mode_ == Mode::silent) {
      co_await net_detail::drain(client);
      co_return;
    }
    if (mode_ == Mode::deny) {
      std::string_view answer = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
      co_await boost::asio::async_write(client, boost::asio::buffer(answer), net_detail::kTuple);
      co_return;
    }

    auto upstream = std::make_shared<tcp::socket>(client.get_executor());
    const tcp::endpoint target = net_detail::loopback(upstream_port_);
    auto [connect_ec] = co_await upstream->async_connect(target, net_detail::kTuple);
    if (connect_ec) {
      std::string_view answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      co_await boost::asio::async_write(client, boost::asio::buffer(answer), net_detail::kTuple);
      co_return;
    }
    std::string_view answer = "HTTP/1.1 200 Connection established\r\n\r\n";
    auto [write_ec, written] =
        co_await boost::asio::async_write(client, boost::asio::buffer(answer), net_detail::kTuple);
    if (write_ec) {
      co_return;
    }
    // Bytes the client sent right behind its CONNECT belong to the tunnel.
    if (buffer.size() != 0) {
      auto [ec, n] = co_await boost::asio::async_write(*upstream, buffer.data(),
                                                       net_detail::kTuple);
      if (ec) {
        co_return;
      }
    }
    auto downstream = std::make_shared<tcp::socket>(std::move(client));
    auto executor = downstream->get_executor();
    boost::asio::co_spawn(executor, pipe(downstream, upstream), boost::asio::detached);
    boost::asio::co_spawn(executor, pipe(upstream, downstream), boost::asio::detached);
  }

  /// Copies `from` to `to` until `from` ends, then passes the end on as a half-close.
  static boost::asio::awaitable<void> pipe(std::shared_ptr<tcp::socket> from,
                                           std::shared_ptr<tcp::socket> to) {
    std::array<char, 16 * 1024> chunk{};
    for (;;) {
      auto [read_ec, n] = co_await from->async_read_some(boost::asio::buffer(chunk),
                                                         net_detail::kTuple);
      if (read_ec) {
        break;
      }
      auto [write_ec, written] = co_await boost::asio::async_write(
          *to, boost::asio::buffer(chunk.data(), n), net_detail::kTuple);
      if (write_ec) {
        break;
      }
    }
    boost::system::error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
  }

  const unsigned short upstream_port_;
  const Mode mode_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;  // guards authorities_
  std::vector<std::string> authorities_;
  IoThread io_;  // last: shut down first, in the destructor
};

}  // namespace botgate::test
