#pragma once
/// HTTP/1.1 client for platform APIs: TLS with certificate verification, a keep-alive pool per
/// host, deadlines on every step, and an optional HTTP CONNECT proxy.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace botgate::net {

namespace asio = boost::asio;

struct HttpClientOptions {
  /// "http://host:port" of an HTTP CONNECT proxy; empty for direct connections.
  std::string proxy_url;
  std::chrono::milliseconds connect_timeout{5000};
  /// The whole exchange after connecting: write the request, read the response.
  std::chrono::milliseconds request_timeout{10000};
  /// At least the outbox's send concurrency (16 chats at once): with fewer, a busy bot closes
  /// and opens a connection for most sends.
  std::size_t max_idle_per_host = 32;
  std::chrono::seconds idle_timeout{50};
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  /// Each exchange on a strand of its own. Needed when several threads run the io_context and
  /// the caller is not on a strand (Beast's deadline timers must not race the I/O they guard);
  /// with one thread, a strand per exchange only adds an allocation, a lock and two hand-offs.
  bool strand_per_exchange = true;
  /// A PEM file of extra CA certificates trusted besides the system store (tests, private CAs).
  /// The system store honours OpenSSL's SSL_CERT_FILE and SSL_CERT_DIR.
  std::string ca_file;
};

/// How the client may treat one request.
struct RequestOptions {
  /// Not an aggregate (STYLE.md 4.3 rule 8: an aggregate temporary built inside a `co_await`
  /// expression is miscompiled by GCC 12): name one, set its fields, pass it.
  RequestOptions() = default;

  /// The request may reach the server twice without harm. GET, HEAD, PUT, DELETE, OPTIONS and
  /// TRACE are (RFC 9110 9.2.2) whatever this says; set it for a POST or PATCH that carries the
  /// platform's idempotency key (Feishu `uuid`, Discord `nonce` + `enforce_nonce`, QQ
  /// `msg_id` + `msg_seq`, WeCom `enable_duplicate_check`) or has no effect twice (a token).
  bool idempotent = false;
  /// Set: a response whose headers `stream_body` accepts has its body handed to `on_body` as it
  /// arrives, piece by piece (each awaited before the next is read), instead of in the response,
  /// whose body is then empty; `request_timeout` then limits each wait for a piece rather than
  /// the whole exchange (a body that trickles in for minutes, an LLM's answer). A response it
  /// does not accept is read whole, as without it. An error of `on_body` ends the exchange with
  /// that error (the connection is closed).
  std::function<bool(const HttpResponse&)> stream_body;
  std::function<asio::awaitable<Result<void>>(std::string_view piece)> on_body;
};

/// Thread safety: `send` may be called from any strand concurrently; each call uses its own
/// connection (taken from or returned to the pool under a mutex).
///
/// The client must outlive every `send` it started. Connections are created on `executor`.
class HttpClient {
 public:
  /// Throws `std::invalid_argument` when `proxy_url` is not "http://host:port" or `ca_file`
  /// cannot be loaded: both are configuration errors, reported at startup.
  HttpClient(asio::any_io_executor executor, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request` to the absolute `url` (its target and Host header are set from it).
  /// Connection failures, TLS failures and deadlines are errors (`errc::timeout`,
  /// `errc::platform_unavailable`); any HTTP status is a response.
  ///
  /// A pooled connection is checked before it is used: one the server closed while it was idle
  /// (or that holds unexpected bytes) is dropped and a new one opened. When an exchange on a
  /// pooled connection still fails before any response byte (the server closed it under us):
  /// - if no byte of the request was written, it is sent once more on a new connection;
  /// - if some or all of it was written, the server may have received and acted on it: an
  ///   idempotent request (see RequestOptions) is sent once more on a new connection, any other
  ///   request is not, and its error is `errc::delivery_uncertain`, as is every failure of a
  ///   non-idempotent request after bytes of it were written (lost connection, deadline).
  ///
  /// Also sets User-Agent "botgate/0.1" unless the request has one, and Content-Length when
  /// there is a body (or for a body-less POST/PUT/PATCH); other headers are sent as given.
  /// Other errors: `invalid_argument` (not an http/https URL), `malformed_payload` (the
  /// response exceeds max_response_bytes), `cancelled`. Error details name host and port,
  /// never the target or a header value.
  asio::awaitable<Result<HttpResponse>> send(std::string url, HttpRequest request);
  asio::awaitable<Result<HttpResponse>> send(std::string url, HttpRequest request,
                                             RequestOptions options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A POST whose body is the JSON `body` (Content-Type: application/json; charset=utf-8), for
/// HttpClient::send, which sets the target and Host from its URL.
HttpRequest json_post(std::string body);

}  // namespace botgate::net
