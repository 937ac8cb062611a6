#include "botgate/net/http_client.hpp"

#include "botgate/net/connect.hpp"
#include "botgate/net/http_wire.hpp"
#include "botgate/net/url.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace botgate::net {
namespace {

namespace beast = boost::beast;
namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;
using detail::PlainStream;
using detail::TlsStream;
using detail::transport_error;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kUserAgent = "botgate/0.1";
// Platform APIs send a few kilobytes of headers at most; Beast's 8 KiB default is tight for
// responses that carry long trace ids and cookies.
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

/// One open connection to an origin, direct or through a proxy tunnel.
struct Connection {
  explicit Connection(PlainStream stream) : stream(std::in_place_index<0>, std::move(stream)) {}
  Connection(PlainStream stream, ssl::context& tls)
      : stream(std::in_place_index<1>, std::move(stream), tls) {}

  std::variant<PlainStream, TlsStream> stream;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};
};

using ConnectionPtr = std::unique_ptr<Connection>;

/// What one request/response exchange on a connection came to.
struct Exchange {
  Result<HttpResponse> response{Error{errc::platform_unavailable}};
  /// The connection may carry another request.
  bool reusable = false;
  /// The exchange failed before any byte of a response arrived, and not by a deadline or a
  /// cancellation: on a pooled connection, the server having closed it while idle.
  bool failed_before_response = false;
  /// Some byte of the request went out: from then on the server may have received it.
  bool wrote_any = false;
};

/// RFC 9110 9.2.2: methods whose effect is the same when a request is sent twice.
bool idempotent_method(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

/// The error of a failed exchange, as the caller should see it: a request that may have
/// reached the server and must not reach it twice is `delivery_uncertain`, whatever broke.
/// A response the client refused (too large) or a cancellation keeps its own error.
Error settle_failure(const Exchange& outcome, bool idempotent) {
  const Error& error = outcome.response.error();
  if (idempotent || !outcome.wrote_any || error.is(errc::malformed_payload) ||
      error.is(errc::cancelled)) {
    return error;
  }
  return Error{errc::delivery_uncertain,
               "the request went out, but no complete answer came (" + error.message() + ")"};
}

/// Whether an idle pooled connection can carry a request: the server has not closed it (a
/// read would give EOF or a reset) and sent nothing unasked (a 408 or a TLS alert before it
/// closes). A peek that does not block, as curl does before it reuses a connection; it narrows
/// the window in which a request goes out on a connection the server is closing to the time
/// between this check and the write.
bool still_usable(Connection& connection) {
  if (connection.buffer.size() != 0) return false;
  auto& socket = std::visit(
      [](auto& stream) -> asio::ip::tcp::socket& { return beast::get_lowest_layer(stream).socket(); },
      connection.stream);
  if (!socket.is_open()) return false;
  char byte = 0;
  const auto got = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/// Whether a failure before any response byte may be the server having closed an idle
/// connection. Deadlines and cancellation are not: a retry would only run into them again.
bool may_be_stale_connection(const error_code& ec) {
  return ec != beast::error::timeout && ec != asio::error::operation_aborted;
}

/// Writes `request` and reads the response on `stream` within `timeout`.
/// Reads the body of the response whose header `parser` holds, handing each piece to
/// `on_body` as it arrives; each read waits at most `idle`.
template <class Stream>
asio::awaitable<Exchange> stream_body(Stream& stream, beast::flat_buffer& buffer,
                                      http::response_parser<http::string_body>& parser,
                                      const RequestOptions& request_options,
                                      std::chrono::milliseconds idle, const std::string& where) {
  Exchange outcome;
  auto& lowest = beast::get_lowest_layer(stream);
  while (!parser.is_done()) {
    lowest.expires_after(idle);
    auto [read_ec, read] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    if (read_ec) {
      lowest.expires_never();
      outcome.response = transport_error(read_ec, "read response from", where);
      co_return outcome;
    }
    std::string& body = parser.get().body();
    if (body.empty()) continue;
    // The string body appends at its current size: taken out, it holds only what comes next.
    const std::string piece = std::move(body);
    body.clear();
    auto taken = co_await request_options.on_body(piece);
    if (!taken) {
      lowest.expires_never();
      outcome.response = taken.error();
      co_return outcome;
    }
  }
  lowest.expires_never();
  HttpResponse response = parser.release();
  // The body went piece by piece; what is left is the header.
  response.body().clear();
  outcome.response = std::move(response);
  co_return outcome;
}

template <class Stream>
asio::awaitable<Exchange> exchange_on(Stream& stream, beast::flat_buffer& buffer,
                                      const HttpRequest& request, const HttpClientOptions& options,
                                      const RequestOptions& request_options,
                                      const std::string& where) {
  Exchange outcome;
  auto& lowest = beast::get_lowest_layer(stream);
  // One deadline for write and read together: it is not reset between them.
  lowest.expires_after(options.request_timeout);

  error_code write_ec;
  std::size_t written = 0;
  if (request.chunked()) {
    std::tie(write_ec, written) = co_await http::async_write(stream, request, kTuple);
  } else {
    // One send of the head and the body (a gather write) instead of Beast's serializer, which
    // cost about as much as the send: ~5% of a Discord gateway event with its reply.
    const std::string head = request_head(request);
    const std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(request.body())};
    std::tie(write_ec, written) = co_await asio::async_write(stream, wire, kTuple);
  }
  // Over TLS, bytes count once a whole record went out: a record cut short cannot be
  // decrypted, so the server cannot have acted on it.
  outcome.wrote_any = written > 0 || !write_ec;
  if (write_ec) {
    lowest.expires_never();
    outcome.response = transport_error(write_ec, "send request to", where);
    outcome.failed_before_response = may_be_stale_connection(write_ec);
    co_return outcome;
  }

  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options.max_response_bytes);
  if (request.method() == http::verb::head) {
    parser.skip(true);
  }
  if (request_options.on_body && request_options.stream_body) {
    auto [header_ec, header_read] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (header_ec) {
      lowest.expires_never();
      outcome.response = transport_error(header_ec, "read response from", where);
      outcome.failed_before_response = !parser.got_some() && may_be_stale_connection(header_ec);
      co_return outcome;
    }
    HttpResponse head;
    head.result(parser.get().result());
    for (const auto& field : parser.get()) head.insert(field.name_string(), field.value());
    if (request_options.stream_body(head)) {
      // Never pooled: the exchange may end halfway.
      parser.body_limit(boost::none);
      co_return co_await stream_body(stream, buffer, parser, request_options,
                                     options.request_timeout, where);
    }
  }
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
  lowest.expires_never();
  if (read_ec) {
    if (read_ec == http::error::body_limit || read_ec == http::error::header_limit) {
      outcome.response = Error{errc::malformed_payload,
                               "response from " + where + " exceeds " +
                                   std::to_string(options.max_response_bytes) + " bytes"};
    } else {
      outcome.response = transport_error(read_ec, "read response from", where);
      outcome.failed_before_response = !parser.got_some() && may_be_stale_connection(read_ec);
    }
    co_return outcome;
  }

  HttpResponse response = parser.release();
  // Leftover bytes would be read as the start of the next response: never pool such a stream.
  outcome.reusable = response.keep_alive() && request.keep_alive() && buffer.size() == 0;
  outcome.response = std::move(response);
  co_return outcome;
}

}  // namespace

struct HttpClient::Impl {
  Impl(asio::any_io_executor executor_in, HttpClientOptions options_in)
      : executor(std::move(executor_in)),
        options(std::move(options_in)),
        tls_context(detail::shared_client_tls(options.ca_file)),
        tls(*tls_context) {
    if (!options.proxy_url.empty()) {
      proxy = detail::parse_proxy_url(options.proxy_url);
    }
  }

  std::string pool_key(const Url& url) const {
    std::string key = url.scheme + "://" + url.authority();
    if (proxy) {
      key.append(" via ").append(proxy->authority());
    }
    return key;
  }

  /// Moves connections idle for longer than idle_timeout into `expired`. Lists are oldest
  /// first, so the expired ones are a prefix.
  void sweep_locked(Clock::time_point now, std::vector<ConnectionPtr>& expired) {
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      auto first_live = list.begin();
      while (first_live != list.end() && now - (*first_live)->idle_since >= options.idle_timeout) {
        expired.push_back(std::move(*first_live));
        ++first_live;
      }
      list.erase(list.begin(), first_live);
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
  }

  /// The most recently used idle connection for `key`, or null.
  ConnectionPtr take_idle(const std::string& key) {
    std::vector<ConnectionPtr> expired;  // closed after the lock is released
    std::lock_guard lock(mutex);
    sweep_locked(Clock::now(), expired);
    auto it = idle.find(key);
    if (it == idle.end()) {
      return nullptr;
    }
    ConnectionPtr connection = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) {
      idle.erase(it);
    }
    return connection;
  }

  void put_idle(const std::string& key, ConnectionPtr connection) {
    if (options.max_idle_per_host == 0) {
      return;
    }
    connection->idle_since = Clock::now();
    std::vector<ConnectionPtr> expired;
    std::lock_guard lock(mutex);
    sweep_locked(connection->idle_since, expired);
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_host) {
      expired.push_back(std::move(list.front()));
      list.erase(list.begin());
    }
    list.push_back(std::move(connection));
  }

  /// Resolve, connect, open the proxy tunnel and shake hands, all within connect_timeout.
  asio::awaitable<Result<ConnectionPtr>> connect(const Url& url) {
    const auto deadline = Clock::now() + options.connect_timeout;
    beast::flat_buffer buffer;
    PlainStream stream(executor);
    auto opened =
        co_await detail::open_tcp(stream, url, proxy ? &*proxy : nullptr, buffer, deadline);
    if (!opened) {
      co_return opened.error();
    }

    if (!url.is_tls()) {
      stream.expires_never();
      auto connection = std::make_unique<Connection>(std::move(stream));
      connection->buffer = std::move(buffer);
      co_return connection;
    }
    if (buffer.size() != 0) {
      co_return Error{errc::platform_unavailable,
                      "proxy " + proxy->authority() + " sent data before the TLS handshake"};
    }

    auto connection = std::make_unique<Connection>(std::move(stream), tls);
    auto& tls_stream = std::get<TlsStream>(connection->stream);
    auto handshake = co_await detail::tls_handshake(tls_stream, url);
    if (!handshake) {
      co_return handshake.error();
    }
    beast::get_lowest_layer(tls_stream).expires_never();
    co_return connection;
  }

  asio::awaitable<Exchange> exchange(Connection& connection, const HttpRequest& request,
                                     const RequestOptions& request_options,
                                     const std::string& where) {
    if (auto* tls_stream = std::get_if<TlsStream>(&connection.stream)) {
      co_return co_await exchange_on(*tls_stream, connection.buffer, request, options,
                                     request_options, where);
    }
    co_return co_await exchange_on(std::get<PlainStream>(connection.stream), connection.buffer,
                                   request, options, request_options, where);
  }

  asio::awaitable<Result<HttpResponse>> send(std::string url_text, HttpRequest request,
                                             RequestOptions request_options) {
    auto url = parse_url(url_text);
    if (!url) {
      co_return url.error();
    }
    request.version(11);
    request.target(url->target);
    request.set(http::field::host, url->host_header());
    // Some platforms want their own format (Discord: "DiscordBot (url, version)").
    if (request.find(http::field::user_agent) == request.end()) {
      request.set(http::field::user_agent, kUserAgent);
    }
    if (!request.body().empty()) {
      request.prepare_payload();
    } else if (request.method() == http::verb::post || request.method() == http::verb::put ||
               request.method() == http::verb::patch) {
      request.content_length(0);  // some servers answer 411 to a body-less POST without it
    }

    const bool idempotent = request_options.idempotent || idempotent_method(request.method());
    const std::string key = pool_key(*url);
    const std::string where = url->authority();
    ConnectionPtr pooled = take_idle(key);
    while (pooled && !still_usable(*pooled)) pooled = take_idle(key);
    if (pooled) {
      Exchange outcome = co_await exchange(*pooled, request, request_options, where);
      if (outcome.reusable) {
        put_idle(key, std::move(pooled));
      }
      if (outcome.response) {
        co_return std::move(outcome.response);
      }
      // The server closed the idle connection under us. Sent again on a new one only when that
      // cannot deliver it twice: nothing of it went out, or sending it twice does no harm.
      if (!outcome.failed_before_response || (outcome.wrote_any && !idempotent)) {
        co_return settle_failure(outcome, idempotent);
      }
    }

    auto fresh = co_await connect(*url);
    if (!fresh) {
      co_return fresh.error();
    }
    Exchange outcome = co_await exchange(**fresh, request, request_options, where);
    if (outcome.reusable) {
      put_idle(key, std::move(*fresh));
    }
    if (!outcome.response) {
      co_return settle_failure(outcome, idempotent);
    }
    co_return std::move(outcome.response);
  }

  asio::any_io_executor executor;
  HttpClientOptions options;
  /// Shared with the other clients (the WebSocket connections, other HTTP clients): one trust
  /// store in memory, loaded once.
  std::shared_ptr<ssl::context> tls_context;
  ssl::context& tls;
  std::optional<Url> proxy;

  std::mutex mutex;  // guards `idle`
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle;
};

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() = default;

asio::awaitable<Result<HttpResponse>> HttpClient::send(std::string url, HttpRequest request) {
  const RequestOptions options;
  co_return co_await send(std::move(url), std::move(request), options);
}

asio::awaitable<Result<HttpResponse>> HttpClient::send(std::string url, HttpRequest request,
                                                       RequestOptions options) {
  if (!impl_->options.strand_per_exchange) {
    co_return co_await impl_->send(std::move(url), std::move(request), options);
  }
  // Each exchange runs on a strand of its own: Beast's deadline timers run on the caller's
  // executor, and they must not race the I/O they guard if the caller is not on a strand.
  auto strand = asio::make_strand(impl_->executor);
  auto exchange = impl_->send(std::move(url), std::move(request), options);
  co_return co_await asio::co_spawn(strand, std::move(exchange), asio::use_awaitable);
}

HttpRequest json_post(std::string body) {
  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::content_type, "application/json; charset=utf-8");
  request.body() = std::move(body);
  return request;
}

}  // namespace botgate::net
