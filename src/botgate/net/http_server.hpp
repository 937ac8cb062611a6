#pragma once
/// The HTTP/1.1 server for webhooks, the API and health checks: one coroutine per connection on
/// its own strand, keep-alive, a body size limit, deadlines on headers and bodies, a cap on open
/// connections, and a graceful stop that answers 503 while the process drains.

#include "botgate/core/error.hpp"
#include "botgate/net/router.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace botgate::net {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port"; port 0 picks a free one
  std::size_t max_body_bytes = 1048576;
  /// The whole header of a request, from the accept (the first request) or from its first byte
  /// (a request on a kept-alive connection): a total, so that a client sending a byte at a time
  /// cannot keep a connection forever (slowloris).
  std::chrono::milliseconds header_timeout{10'000};
  /// The whole body, from the end of the header.
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive connections between requests
  /// At most this many connections open at once (nginx's worker_connections). When the cap is
  /// near, each new connection closes the connection that has waited longest for a request
  /// (an idle keep-alive one, or one that never sent a byte); when none is idle at the cap,
  /// one more is accepted and then accepting stops until one ends, so the listen backlog
  /// holds the rest.
  std::size_t max_connections = 1024;
  /// Each connection on a strand of its own. Needed when several threads run the io_context;
  /// with one thread the io_context itself runs one handler at a time, and a strand per
  /// connection would only add a lock and a queue to every operation.
  bool strand_per_connection = true;
};

/// Thread safety: every method may be called from any thread.
class HttpServer {
 public:
  HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options);
  /// Calls close().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting. Fails with a message naming the address (in use, bad host).
  Result<void> start();
  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept;
  /// Starts draining: idle connections are closed, requests in flight finish (their response
  /// says `Connection: close`), and every request that arrives later, on a new connection or an
  /// open one, is answered 503 with `Connection: close`, so that a platform delivers its
  /// callback again instead of meeting a refused connection or a hang. The listener stays open
  /// until close().
  void stop();
  /// Closes the listener and every connection (after stop(), once the work in hand is done).
  void close();

  /// Connections open now.
  std::size_t open_connections() const;
  /// Requests handed to the router whose response is not written yet.
  std::size_t requests_in_flight() const;
  /// Accepts that failed (a full file table, say), since start().
  std::uint64_t accept_failures() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace botgate::net
