#pragma once
/// Internal to botgate::net: the steps of opening a client connection that the HTTP and the
/// WebSocket clients share (resolve, connect, CONNECT tunnel, TLS with verification), each
/// bounded by a deadline. Not part of the public API.

#include "botgate/core/error.hpp"
#include "botgate/net/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace botgate::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using DeadlineClock = std::chrono::steady_clock;

/// "connect to api.example.com:443: Connection refused". `where` names host and port only:
/// never the target, whose query may carry keys. Beast's timeout -> errc::timeout,
/// operation_aborted -> errc::cancelled, anything else -> errc::platform_unavailable.
Error transport_error(const error_code& ec, std::string_view step, std::string_view where);

/// Sets up a client TLS context: TLS 1.2 or later, peer verification against the system store
/// plus `ca_file` when not empty. Throws `std::invalid_argument` when `ca_file` cannot be loaded.
void init_client_tls(asio::ssl::context& tls, const std::string& ca_file);

/// The client TLS context (as `init_client_tls` sets it up) for `ca_file`, shared by every
/// client that holds it: made again only once none does. Loading the trust store takes
/// OpenSSL 3 10-50 ms of CPU and ~0.9 MiB per context, so one per connection made 40 gateway
/// bots cost 35 MiB and a busy second at start. Safe from any thread; the first caller loads
/// the store, concurrent ones wait for it. Throws as `init_client_tls`.
std::shared_ptr<asio::ssl::context> shared_client_tls(const std::string& ca_file);

/// Parses an "http://host:port" proxy URL; throws `std::invalid_argument` otherwise.
Url parse_proxy_url(const std::string& proxy_url);

/// Connects `stream` to `url`'s authority by `deadline`: resolve and connect (directly, or to
/// `proxy` followed by a CONNECT tunnel when `proxy` is not null), with TCP_NODELAY set. The
/// stream's deadline is left set to `deadline`. Bytes the proxy sent past its answer are left
/// in `buffer`. Must run on a strand (the stream's executor).
asio::awaitable<Result<void>> open_tcp(PlainStream& stream, const Url& url, const Url* proxy,
                                       beast::flat_buffer& buffer,
                                       DeadlineClock::time_point deadline);

/// Sets SNI and host name verification for `url` on `stream`, then runs the client handshake
/// (bounded by the deadline set on the stream's lowest layer).
asio::awaitable<Result<void>> tls_handshake(TlsStream& stream, const Url& url);

}  // namespace botgate::net::detail
