#include "botgate/net/http_server.hpp"

#include "botgate/net/http_wire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace botgate::net {
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// Room for a whole callback (headers and an encrypted body) in one receive.
constexpr std::size_t kReadBufferBytes = 4096;
}  // namespace

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (listen.starts_with('[')) {
    const auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return std::nullopt;
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
      value > 65535) {
    return std::nullopt;
  }
  return std::pair{std::string(host), static_cast<std::uint16_t>(value)};
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const Router& router, HttpServerOptions options)
      : io_(io), router_(router), options_(std::move(options)), acceptor_(io) {}

  asio::io_context& io_;
  const Router& router_;
  HttpServerOptions options_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;

  /// One accepted connection. `idle` is touched only on the connection's strand (or the one
  /// thread of the io_context).
  struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    /// Waiting for a request's header: stop() may close it, no request is lost.
    bool idle = true;
  };

  // Guards `sessions_` and `stopping_`: sessions live on their own strands, stop() on any thread.
  std::mutex mutex_;
  std::map<std::uint64_t, std::weak_ptr<Connection>> sessions_;
  std::uint64_t next_session_ = 0;
  bool stopping_ = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      const asio::any_io_executor executor =
          options_.strand_per_connection ? asio::any_io_executor(asio::make_strand(io_))
                                         : asio::any_io_executor(io_.get_executor());
      auto [ec, socket] = co_await acceptor_.async_accept(executor, use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        spdlog::warn("http server: accept failed: {}", ec.message());
        continue;
      }
      auto connection = std::make_shared<Connection>(std::move(socket));
      std::uint64_t id = 0;
      {
        std::lock_guard lock(mutex_);
        if (stopping_) co_return;
        id = next_session_++;
        sessions_[id] = connection;
      }
      asio::co_spawn(connection->stream.get_executor(), session(connection, id), asio::detached);
    }
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> connection, std::uint64_t id) {
    auto self = shared_from_this();
    beast::tcp_stream* stream = &connection->stream;
    beast::flat_buffer buffer;
    // Beast reads into what the buffer has free (at least 512 bytes): with the few hundred bytes
    // a flat_buffer grows to, a 1.5 KiB signed callback took two or three receives.
    buffer.reserve(kReadBufferBytes);
    for (bool first = true;; first = false) {
      // Checked on the strand before every wait for a request: a stop() that came earlier ends
      // the connection here, one that comes later finds it idle and cancels the read.
      if (is_stopping()) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(options_.max_body_bytes);
      stream->expires_after(first ? options_.header_timeout : options_.idle_timeout);
      connection->idle = true;
      auto [hec, hn] = co_await http::async_read_header(*stream, buffer, parser, use_tuple);
      connection->idle = false;
      if (hec) {
        if (hec == http::error::header_limit) {
          co_await reply(*stream, make_response(http::status::request_header_fields_too_large,
                                                R"({"error":"headers too large"})"), false);
        } else if (hec == http::error::body_limit) {
          // Beast checks a declared Content-Length against the limit while parsing the header.
          spdlog::warn("http server: declared body over the limit of {} bytes: 413",
                       options_.max_body_bytes);
          co_await reply(*stream, make_response(http::status::payload_too_large,
                                                R"({"error":"body too large"})"), false);
        } else if (hec != http::error::end_of_stream && hec != beast::error::timeout &&
                   hec != asio::error::operation_aborted && hec != asio::error::eof &&
                   hec != asio::error::connection_reset) {
          co_await reply(*stream,
                         make_response(http::status::bad_request, R"({"error":"bad request"})"),
                         false);
        }
        break;
      }
      // A small request (a callback) usually arrives whole with its header: no second read.
      beast::error_code bec;
      if (!parser.is_done()) {
        stream->expires_after(options_.body_timeout);
        std::size_t read = 0;
        std::tie(bec, read) = co_await http::async_read(*stream, buffer, parser, use_tuple);
      }
      if (bec) {
        if (bec == http::error::body_limit) {
          spdlog::warn("http server: body over the limit of {} bytes: 413",
                       options_.max_body_bytes);
          co_await reply(*stream, make_response(http::status::payload_too_large,
                                                R"({"error":"body too large"})"), false);
        } else if (bec != beast::error::timeout && bec != asio::error::operation_aborted) {
          co_await reply(*stream,
                         make_response(http::status::bad_request, R"({"error":"bad request"})"),
                         false);
        }
        break;
      }
      HttpRequest request = parser.release();
      HttpResponse response = co_await router_.dispatch(request);
      bool keep_alive = request.keep_alive() && !is_stopping();
      response.version(request.version());
      if (!co_await reply(*stream, std::move(response), keep_alive) || !keep_alive) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
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

HttpServer::~HttpServer() { stop(); }

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
  asio::co_spawn(acceptor.get_executor(), impl_->accept_loop(), asio::detached);
  return {};
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port_; }

void HttpServer::stop() {
  std::vector<std::shared_ptr<Impl::Connection>> open;
  {
    std::lock_guard lock(impl_->mutex_);
    if (impl_->stopping_) return;
    impl_->stopping_ = true;
    for (auto& [id, weak] : impl_->sessions_) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  asio::post(impl_->acceptor_.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor_.close(ignored);
  });
  // Idle keep-alive connections wait in a read: cancel it on the connection's own strand.
  // (expires_after() would not do: Beast leaves the deadline of a pending read unchanged.)
  // A connection busy with a request finishes it and then closes (keep-alive is off now).
  for (auto& connection : open) {
    asio::post(connection->stream.get_executor(), [connection] {
      if (connection->idle) connection->stream.cancel();
    });
  }
}

}  // namespace botgate::net
