#pragma once
/// A connection that a route keeps after reading its request, to write an answer that does not
/// end (server-sent events) or to speak another protocol on it (a WebSocket). The HTTP server
/// hands it to a streaming route (Router::add_streaming); the route writes on it directly.

#include "botgate/core/http.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <functional>
#include <string>

namespace botgate::net {

namespace asio = boost::asio;

/// Thread safety: use it on the connection's executor only (the route's coroutine runs there).
class StreamConnection {
 public:
  virtual ~StreamConnection() = default;
  virtual boost::beast::tcp_stream& stream() = 0;
  /// What the server read past the request's end (a client that did not wait for the answer);
  /// usually empty.
  virtual boost::beast::flat_buffer& buffer() = 0;
  /// The route streams from now on: the request no longer counts as in flight (a draining
  /// server does not wait for it to end), and `on_stop` is called once, on the connection's
  /// executor, when the server stops (posted at once if it has already): the route then ends
  /// its stream cleanly. The server closes the connection when the route returns. Call once.
  virtual void start_streaming(std::function<void()> on_stop) = 0;
};

/// A streaming route's handler. It answers as any route does (an HttpAnswer the server writes,
/// a refusal say), or writes its own answer on the connection and returns one with
/// `connection_taken` set.
using StreamHandler = std::function<asio::awaitable<HttpAnswer>(
    const HttpRequest&, std::string param, StreamConnection&)>;

}  // namespace botgate::net
