#pragma once
/// The HTTP/1.1 server for webhooks, the API and health checks: one coroutine per connection on
/// its own strand, keep-alive, a body size limit, and deadlines on headers and bodies.

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
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive connections between requests
  /// Each connection on a strand of its own. Needed when several threads run the io_context;
  /// with one thread the io_context itself runs one handler at a time, and a strand per
  /// connection would only add a lock and a queue to every operation.
  bool strand_per_connection = true;
};

class HttpServer {
 public:
  HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting. Fails with a message naming the address (in use, bad host).
  Result<void> start();
  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept;
  /// Stops accepting and closes idle connections; requests in flight finish.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// Splits "host:port" ("[::1]:8080" for IPv6). nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view listen);

}  // namespace botgate::net
