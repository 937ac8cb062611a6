// The HTTP request path of net/http_server.cpp: Beast's request parser with the server's limits
// fed the bytes of one connection in receive-sized pieces (keep-alive: request after request),
// then what the server and the routes do with a parsed request: the router's matching, the
// target's path and query (net/query_string.hpp), the log form of the target, and the response
// written back. The target also goes through net::parse_url, the parser of the URLs botgate
// itself calls.
#include "botgate/net/http_wire.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/net/router.hpp"
#include "botgate/net/url.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace botgate;
namespace beast = boost::beast;

// The limits of net/http_server.cpp (its header limit, the default [server] max_body_bytes).
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kBodyLimit = 1048576;

/// Routes shaped like botgate's (app/wiring.cpp): exact paths and one trailing parameter.
const net::Router& router() {
  static const net::Router r = [] {
    net::Router routes;
    auto echo_query = [](const HttpRequest& request,
                         std::string param) -> boost::asio::awaitable<HttpResponse> {
      std::string body(param);
      for (const char* name : {"msg_signature", "timestamp", "nonce", "echostr", "after", "q"}) {
        body += net::query_param(request.target(), name).value_or("-");
      }
      co_return make_response(http::status::ok, net::percent_encode(body), "text/plain");
    };
    routes.add("/healthz", {http::verb::get}, echo_query);
    routes.add("/readyz", {http::verb::get}, echo_query);
    routes.add("/webhook/{bot}", {http::verb::get, http::verb::post}, echo_query);
    routes.add("/api/v1/log", {http::verb::get}, echo_query);
    routes.add("/api/v1/sandbox/messages", {http::verb::post}, echo_query);
    routes.add("/console/{file}", {}, echo_query);
    return routes;
  }();
  return r;
}

void serve(HttpRequest request) {
  static boost::asio::io_context io;
  (void)target_for_log(request.target());
  (void)net::parse_url(request.target());
  boost::asio::co_spawn(
      io,
      [&request]() -> boost::asio::awaitable<void> {
        HttpResponse response = (co_await router().dispatch(request)).response;
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        response.prepare_payload();
        (void)net::serialize(response);
      },
      boost::asio::detached);
  io.run();
  io.restart();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte sets the receive size: 1..256 bytes, or whole (as a loopback client often is).
  const std::size_t step = data[0] == 0 ? size : data[0];
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::size_t consumed = 0;  // bytes the parsers took
  std::size_t received = 0;  // bytes "read from the socket" so far
  while (consumed < wire.size()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    while (!parser.is_done()) {
      if (consumed == received) {
        if (received == wire.size()) {
          parser.put_eof(ec);  // the client closed the connection
          break;
        }
        received = std::min(wire.size(), received + step);
      }
      const std::size_t used =
          parser.put(boost::asio::const_buffer(wire.data() + consumed, received - consumed), ec);
      consumed += used;
      if (ec == http::error::need_more) {
        ec = {};
        if (received == wire.size()) {
          parser.put_eof(ec);
          break;
        }
        received = std::min(wire.size(), received + step);
        continue;
      }
      if (ec) break;
    }
    if (ec || !parser.is_done()) return 0;  // answered 400, 413 or 431 and closed
    HttpRequest request = parser.release();
    const bool keep_alive = request.keep_alive();
    serve(std::move(request));
    if (!keep_alive) return 0;
  }
  return 0;
}
