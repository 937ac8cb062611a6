#include "botgate/net/connect.hpp"

#include "botgate/crypto/system_trust.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace botgate::net::detail {
namespace {

namespace ssl = asio::ssl;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kUserAgent = "botgate/0.1";

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

/// The resolver's state, shared with its completion handler: getaddrinfo cannot be interrupted,
/// so on a deadline the coroutine walks away and the handler finishes alone later.
struct ResolveState {
  explicit ResolveState(const asio::any_io_executor& executor)
      : resolver(executor), wake(executor) {}

  tcp::resolver resolver;
  asio::steady_timer wake;
  error_code ec;
  tcp::resolver::results_type results;
  bool done = false;
};

/// Resolves `url`'s host by `deadline`. Must run on a strand: the resolver's handler and the
/// coroutine share `ResolveState`.
asio::awaitable<Result<tcp::resolver::results_type>> resolve(const Url& url,
                                                             DeadlineClock::time_point deadline) {
  const auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<ResolveState>(executor);
  state->wake.expires_at(deadline);
  state->resolver.async_resolve(
      url.host, url.port,
      asio::bind_executor(executor, [state](error_code ec, tcp::resolver::results_type results) {
        state->ec = ec;
        state->results = std::move(results);
        state->done = true;
        state->wake.cancel();
      }));
  co_await state->wake.async_wait(kTuple);
  if (!state->done) {
    state->resolver.cancel();
    co_return Error{errc::timeout, "resolve " + url.authority() + ": timed out"};
  }
  if (state->ec) {
    co_return transport_error(state->ec, "resolve", url.authority());
  }
  co_return std::move(state->results);
}

/// Asks the proxy on `stream` for a tunnel to `url`'s authority. The caller has set the
/// stream's deadline. Bytes the proxy sent past its answer are left in `buffer`.
asio::awaitable<Result<void>> open_tunnel(PlainStream& stream, beast::flat_buffer& buffer,
                                          const Url& url, const Url& proxy) {
  const std::string authority = url.authority();
  http::request<http::empty_body> request{http::verb::connect, authority, 11};
  request.set(http::field::host, authority);
  request.set(http::field::user_agent, kUserAgent);
  auto [write_ec, written] = co_await http::async_write(stream, request, kTuple);
  if (write_ec) {
    co_return transport_error(write_ec, "CONNECT through proxy", proxy.authority());
  }

  http::response_parser<http::empty_body> parser;
  // A 2xx answer to CONNECT has no body whatever its headers say, and an error answer's body
  // is of no use: the connection is dropped either way.
  parser.skip(true);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (read_ec) {
    co_return transport_error(read_ec, "CONNECT through proxy", proxy.authority());
  }
  const auto status = parser.get().result_int();
  if (status != 200) {
    co_return Error{errc::platform_unavailable, "proxy " + proxy.authority() +
                                                    " refused CONNECT to " + authority +
                                                    ": status " + std::to_string(status)};
  }
  co_return Result<void>{};
}

}  // namespace

Error transport_error(const error_code& ec, std::string_view step, std::string_view where) {
  std::string detail(step);
  detail.append(" ").append(where).append(": ");
  if (ec == beast::error::timeout) {
    detail.append("timed out");
    return Error{errc::timeout, std::move(detail)};
  }
  detail.append(ec.message());
  if (ec == asio::error::operation_aborted) {
    return Error{errc::cancelled, std::move(detail)};
  }
  return Error{errc::platform_unavailable, std::move(detail)};
}

void init_client_tls(ssl::context& tls, const std::string& ca_file) {
  crypto::configure_client_tls(tls.native_handle(), ca_file);
}

std::shared_ptr<ssl::context> shared_client_tls(const std::string& ca_file) {
  // Guards `contexts`. Held while a store loads: a second caller for the same file waits
  // instead of loading its own copy.
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<ssl::context>> contexts;
  std::lock_guard lock(mutex);
  std::weak_ptr<ssl::context>& slot = contexts[ca_file];
  if (auto held = slot.lock()) return held;
  auto made = std::make_shared<ssl::context>(ssl::context::tls_client);
  init_client_tls(*made, ca_file);
  slot = made;
  return made;
}

Url parse_proxy_url(const std::string& proxy_url) {
  auto parsed = parse_url(proxy_url);
  if (!parsed || parsed->scheme != "http") {
    throw std::invalid_argument("proxy_url must look like http://host:port");
  }
  return std::move(*parsed);
}

asio::awaitable<Result<void>> open_tcp(PlainStream& stream, const Url& url, const Url* proxy,
                                       beast::flat_buffer& buffer,
                                       DeadlineClock::time_point deadline) {
  const Url& hop = proxy != nullptr ? *proxy : url;
  auto endpoints = co_await resolve(hop, deadline);
  if (!endpoints) {
    co_return endpoints.error();
  }
  stream.expires_at(deadline);
  auto [connect_ec, endpoint] = co_await stream.async_connect(*endpoints, kTuple);
  if (connect_ec) {
    co_return transport_error(connect_ec, "connect to", hop.authority());
  }
  // Requests are small and latency-bound; Nagle would hold back the last segment.
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  if (proxy != nullptr) {
    auto tunnel = co_await open_tunnel(stream, buffer, url, *proxy);
    if (!tunnel) {
      co_return tunnel.error();
    }
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> tls_handshake(TlsStream& stream, const Url& url) {
  // SNI carries host names only (RFC 6066 3); IP literals are checked against the
  // certificate's IP SANs by host_name_verification.
  if (!is_ip_literal(url.host) &&
      SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1) {
    co_return Error{errc::platform_unavailable, "cannot set SNI for " + url.authority()};
  }
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  if (handshake_ec) {
    co_return transport_error(handshake_ec, "TLS handshake with", url.authority());
  }
  co_return Result<void>{};
}

}  // namespace botgate::net::detail
