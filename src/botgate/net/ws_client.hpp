#pragma once
/// WebSocket client connections (ws:// and wss://) for platform gateways (Discord, QQ) and the
/// OneBot v11 reverse WebSocket: TLS
/// with certificate verification, an optional HTTP CONNECT proxy, and deadlines on connecting,
/// idling and closing.

#include "botgate/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace botgate::net {

namespace asio = boost::asio;

struct WsClientOptions {
  /// "http://host:port" of an HTTP CONNECT proxy; empty for direct connections.
  std::string proxy_url;
  /// A PEM file of extra CA certificates trusted besides the system store (tests, private CAs).
  std::string ca_file;
  /// Resolve, connect, proxy tunnel, TLS handshake and WebSocket upgrade together.
  std::chrono::milliseconds connect_timeout{10000};
  /// With nothing received for this long the connection is dropped (`read()` fails with
  /// errc::timeout); a ping is sent half way through so that a quiet but live server answers.
  /// Zero: no idle limit (the gateway's own heartbeat then detects a dead connection).
  std::chrono::milliseconds idle_timeout{0};
  /// How long `close()` waits for the server's close frame before dropping the connection.
  std::chrono::milliseconds close_timeout{2000};
  /// A larger incoming message fails `read()` with errc::malformed_payload (and the
  /// connection is closed with code 1009).
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  /// The User-Agent header of the upgrade request.
  std::string user_agent = "botgate/0.1";
  /// More headers of the upgrade request (OneBot's X-Self-ID, X-Client-Role, Authorization).
  /// Never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Headers of a refused upgrade answer whose values the error detail quotes ("Name: value"),
  /// where a platform says there why it refused (Feishu's Handshake-Status, -Msg,
  /// -Autherrcode). Only name headers that never carry a secret.
  std::vector<std::string> refusal_headers;
};

/// One WebSocket connection. permessage-deflate is not offered; outgoing messages are text.
///
/// Thread safety: every call on the connection's executor, which must be a strand (or an
/// io_context run by one thread). One `read()` may be outstanding at a time; `write()` may be
/// called while another write is outstanding (writes are queued in call order), and `close()`
/// waits for outstanding writes. The connection must outlive every call it started.
///
/// ```
/// auto ws = co_await WsConnection::connect(strand, "wss://gateway.discord.gg/?v=10", options);
/// if (!ws) { ... }
/// while (auto message = co_await (*ws)->read()) { ... }
/// ```
class WsConnection {
 public:
  /// Opens a connection to `url` ("ws://host[:port]/path?query" or wss://). Errors:
  /// invalid_argument (not a ws/wss URL), timeout (connect_timeout passed),
  /// platform_unavailable (network, proxy or TLS failure, or a 5xx answer to the upgrade),
  /// platform_rejected (any other non-101 answer; the detail names the status). Details name
  /// host and port, never the path or query, which may carry tokens.
  ///
  /// Throws `std::invalid_argument` when `proxy_url` is not "http://host:port" or `ca_file`
  /// cannot be loaded: both are configuration errors.
  static asio::awaitable<Result<std::unique_ptr<WsConnection>>> connect(
      asio::any_io_executor executor, std::string url, WsClientOptions options);

  ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  /// The next message, text or binary (control frames are handled inside). When the peer
  /// closes: platform_unavailable whose detail names the close code and reason, and
  /// `close_code()` then tells the code (Discord's 4004, 4014...). Other errors: timeout
  /// (idle_timeout), malformed_payload (max_message_bytes), cancelled (`abort()`),
  /// platform_unavailable (the connection failed).
  asio::awaitable<Result<std::string>> read();

  /// Sends `text` as one text message.
  asio::awaitable<Result<void>> write(std::string text);
  /// Sends `bytes` as one binary message (the Feishu long connection's protobuf frames).
  asio::awaitable<Result<void>> write_binary(std::string bytes);

  /// Sends a close frame with `code` and `reason` and waits, at most close_timeout, for the
  /// server's; then the connection is closed. Never fails: there is nothing left to do.
  asio::awaitable<void> close(std::uint16_t code, std::string reason);

  /// The close code the peer sent, once `read()` has reported its close.
  std::optional<std::uint16_t> close_code() const;

  /// Closes the socket at once, without a close handshake (a zombie connection): pending and
  /// later calls fail with errc::cancelled, and the server sees an abnormal closure (Discord
  /// then allows a resume).
  void abort();

  struct Impl;  // implementation detail, public only for the implementations to derive from

 private:
  explicit WsConnection(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace botgate::net
