#include "botgate/net/ws_client.hpp"

#include "botgate/net/connect.hpp"
#include "botgate/net/url.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace botgate::net {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using detail::PlainStream;
using detail::TlsStream;
using detail::transport_error;
using Clock = detail::DeadlineClock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// RFC 6455 5.5: a control frame's payload is at most 125 bytes, 2 of them the close code.
constexpr std::size_t kMaxCloseReason = 123;

/// Whether `text` starts with the lower-case `prefix`, in any case.
bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char lower, char c) {
           return std::tolower(static_cast<unsigned char>(c)) == lower;
         });
}

/// Parses a ws:// or wss:// URL as the http:// or https:// URL of its upgrade request.
Result<Url> parse_ws_url(std::string_view text) {
  std::string http_text;
  if (starts_with_nocase(text, "ws://")) {
    http_text = "http://" + std::string(text.substr(5));
  } else if (starts_with_nocase(text, "wss://")) {
    http_text = "https://" + std::string(text.substr(6));
  } else {
    return Error{errc::invalid_argument, "not a ws:// or wss:// URL"};
  }
  return parse_url(http_text);
}

websocket::stream_base::duration as_timeout(std::chrono::milliseconds limit) {
  if (limit <= std::chrono::milliseconds::zero()) {
    return websocket::stream_base::none();
  }
  return limit;
}

}  // namespace

/// The connection's state behind the public class: one implementation per stream type.
struct WsConnection::Impl {
  virtual ~Impl() = default;
  virtual asio::awaitable<Result<std::string>> read() = 0;
  virtual asio::awaitable<Result<void>> write(std::string data, bool binary) = 0;
  virtual asio::awaitable<void> close(std::uint16_t code, std::string reason) = 0;
  virtual void abort() = 0;

  std::optional<std::uint16_t> close_code;
};

namespace {

template <class Next>
class Session final : public WsConnection::Impl {
 public:
  /// `tls` (null for ws://) is kept alive for the stream, which refers to it.
  template <class... StreamArgs>
  Session(std::shared_ptr<ssl::context> tls, std::string where, const WsClientOptions& options,
          StreamArgs&&... stream_args)
      : tls_(std::move(tls)), where_(std::move(where)), options_(options),
        ws_(std::forward<StreamArgs>(stream_args)...), write_wake_(ws_.get_executor()) {
    // Waiters are woken by cancel(), which leaves this expiry in place for the next ones.
    write_wake_.expires_at(Clock::time_point::max());
  }

  websocket::stream<Next>& stream() { return ws_; }

  /// The upgrade request and its answer, by `deadline`. TLS (if any) is done.
  asio::awaitable<Result<void>> handshake(const Url& url, Clock::time_point deadline) {
    // The websocket stream has its own timer; the TCP stream's must be off (Beast's rule).
    beast::get_lowest_layer(ws_).expires_never();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            Clock::now());
    websocket::stream_base::timeout limits{};
    limits.handshake_timeout = std::max(left, std::chrono::milliseconds(1));
    limits.idle_timeout = websocket::stream_base::none();
    limits.keep_alive_pings = false;
    ws_.set_option(limits);
    websocket::permessage_deflate deflate;
    deflate.client_enable = false;
    ws_.set_option(deflate);
    ws_.set_option(websocket::stream_base::decorator(
        [user_agent = options_.user_agent, headers = options_.headers](
            websocket::request_type& request) {
          request.set(beast::http::field::user_agent, user_agent);
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
    ws_.read_message_max(options_.max_message_bytes);

    websocket::response_type response;
    const std::string host = url.host_header();
    auto [ec] = co_await ws_.async_handshake(response, host, url.target, kTuple);
    if (ec == websocket::error::upgrade_declined) {
      const auto status = response.result_int();
      std::string detail = "WebSocket upgrade refused by " + where_ + ": status " +
                           std::to_string(status);
      for (const std::string& name : options_.refusal_headers) {
        const auto value = response[name];
        if (!value.empty()) detail.append(", ").append(name).append(": ").append(value);
      }
      co_return Error{status >= 500 ? errc::platform_unavailable : errc::platform_rejected,
                      std::move(detail)};
    }
    if (ec) {
      co_return transport_error(ec, "WebSocket handshake with", where_);
    }

    limits.handshake_timeout = as_timeout(options_.close_timeout);
    limits.idle_timeout = as_timeout(options_.idle_timeout);
    limits.keep_alive_pings = options_.idle_timeout > std::chrono::milliseconds::zero();
    ws_.set_option(limits);
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::string>> read() override {
    if (aborted_) {
      co_return aborted_error();
    }
    auto [ec, size] = co_await ws_.async_read(read_buffer_, kTuple);
    if (ec) {
      read_buffer_.clear();
      co_return read_error(ec);
    }
    std::string message = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(size);
    co_return message;
  }

  asio::awaitable<Result<void>> write(std::string data, bool binary) override {
    if (!co_await lock_writes()) {
      co_return aborted_error();
    }
    ws_.binary(binary);
    const auto payload = asio::buffer(data);
    auto [ec, written] = co_await ws_.async_write(payload, kTuple);
    unlock_writes();
    if (aborted_) {
      co_return aborted_error();
    }
    if (ec == websocket::error::closed) {
      co_return Error{errc::platform_unavailable, "connection to " + where_ + " is closed"};
    }
    if (ec) {
      co_return transport_error(ec, "write to", where_);
    }
    co_return Result<void>{};
  }

  asio::awaitable<void> close(std::uint16_t code, std::string reason) override {
    if (!co_await lock_writes()) {
      co_return;
    }
    if (reason.size() > kMaxCloseReason) {
      reason.resize(kMaxCloseReason);
    }
    // Beast bounds the close handshake by handshake_timeout, but not the TLS shutdown behind
    // it: a watchdog drops the connection if the whole does not finish in time.
    auto finished = std::make_shared<bool>(false);
    asio::steady_timer watchdog(ws_.get_executor());
    watchdog.expires_after(options_.close_timeout);
    watchdog.async_wait([this, finished](error_code ec) {
      if (!ec && !*finished) {
        beast::get_lowest_layer(ws_).close();
      }
    });
    websocket::close_reason frame;
    frame.code = code;
    frame.reason = std::move(reason);
    auto [ec] = co_await ws_.async_close(frame, kTuple);
    *finished = true;
    watchdog.cancel();
    unlock_writes();
    if (ec) {
      beast::get_lowest_layer(ws_).close();
    }
  }

  void abort() override {
    aborted_ = true;
    beast::get_lowest_layer(ws_).close();
    write_wake_.cancel();
  }

 private:
  Error aborted_error() const {
    return Error{errc::cancelled, "connection to " + where_ + " aborted"};
  }

  Error read_error(const error_code& ec) {
    if (aborted_) {
      return aborted_error();
    }
    if (ec == websocket::error::closed) {
      const auto& reason = ws_.reason();
      close_code = reason.code;
      std::string detail =
          where_ + " closed the connection: code " + std::to_string(reason.code);
      if (!reason.reason.empty()) {
        detail.append(" (").append(reason.reason.data(), reason.reason.size()).append(")");
      }
      return Error{errc::platform_unavailable, std::move(detail)};
    }
    if (ec == websocket::error::message_too_big) {
      return Error{errc::malformed_payload, "message from " + where_ + " exceeds " +
                                                std::to_string(options_.max_message_bytes) +
                                                " bytes"};
    }
    return transport_error(ec, "read from", where_);
  }

  /// Waits until no write or close is outstanding and claims the stream's write side. False
  /// when the connection was aborted meanwhile.
  asio::awaitable<bool> lock_writes() {
    while (writing_ && !aborted_) {
      co_await write_wake_.async_wait(kTuple);
    }
    if (aborted_) {
      co_return false;
    }
    writing_ = true;
    co_return true;
  }

  void unlock_writes() {
    writing_ = false;
    write_wake_.cancel();
  }

  std::shared_ptr<ssl::context> tls_;  // before ws_, which refers to it
  const std::string where_;            // "host:port", for error details
  const WsClientOptions options_;
  websocket::stream<Next> ws_;
  beast::flat_buffer read_buffer_;
  asio::steady_timer write_wake_;
  bool writing_ = false;
  bool aborted_ = false;
};

using ImplPtr = std::unique_ptr<WsConnection::Impl>;

/// Resolve, connect, tunnel, TLS and upgrade, all within connect_timeout.
asio::awaitable<Result<ImplPtr>> open_connection(asio::any_io_executor executor,
                                                 std::string url_text, WsClientOptions options) {
  auto url = parse_ws_url(url_text);
  if (!url) {
    co_return url.error();
  }
  std::optional<Url> proxy;
  if (!options.proxy_url.empty()) {
    proxy = detail::parse_proxy_url(options.proxy_url);
  }
  std::shared_ptr<ssl::context> tls;
  if (url->is_tls()) {
    tls = detail::shared_client_tls(options.ca_file);
  }
  // The deadline covers the network only: loading the trust store (the first connection's) can
  // take a while on a busy machine and is no sign of a slow server.
  const auto deadline = Clock::now() + options.connect_timeout;

  beast::flat_buffer buffer;
  PlainStream stream(executor);
  auto opened =
      co_await detail::open_tcp(stream, *url, proxy ? &*proxy : nullptr, buffer, deadline);
  if (!opened) {
    co_return opened.error();
  }
  // A server says nothing before the upgrade answer (nor before the TLS handshake).
  if (buffer.size() != 0) {
    co_return Error{errc::platform_unavailable,
                    "proxy " + proxy->authority() + " sent data before the handshake"};
  }

  const std::string where = url->authority();
  if (!tls) {
    auto session = std::make_unique<Session<PlainStream>>(nullptr, where, options,
                                                          std::move(stream));
    auto upgraded = co_await session->handshake(*url, deadline);
    if (!upgraded) {
      co_return upgraded.error();
    }
    co_return ImplPtr(std::move(session));
  }
  auto session =
      std::make_unique<Session<TlsStream>>(tls, where, options, std::move(stream), *tls);
  auto secured = co_await detail::tls_handshake(session->stream().next_layer(), *url);
  if (!secured) {
    co_return secured.error();
  }
  auto upgraded = co_await session->handshake(*url, deadline);
  if (!upgraded) {
    co_return upgraded.error();
  }
  co_return ImplPtr(std::move(session));
}

}  // namespace

WsConnection::WsConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsConnection::~WsConnection() = default;

asio::awaitable<Result<std::unique_ptr<WsConnection>>> WsConnection::connect(
    asio::any_io_executor executor, std::string url, WsClientOptions options) {
  // Runs on `executor` so that the connection's I/O objects and the resolver's shared state
  // live on the connection's strand, whatever the caller's executor.
  auto opening = open_connection(executor, std::move(url), std::move(options));
  auto impl = co_await asio::co_spawn(executor, std::move(opening), asio::use_awaitable);
  if (!impl) {
    co_return impl.error();
  }
  co_return std::unique_ptr<WsConnection>(new WsConnection(std::move(*impl)));
}

asio::awaitable<Result<std::string>> WsConnection::read() { return impl_->read(); }

asio::awaitable<Result<void>> WsConnection::write(std::string text) {
  return impl_->write(std::move(text), false);
}

asio::awaitable<Result<void>> WsConnection::write_binary(std::string bytes) {
  return impl_->write(std::move(bytes), true);
}

asio::awaitable<void> WsConnection::close(std::uint16_t code, std::string reason) {
  return impl_->close(code, std::move(reason));
}

std::optional<std::uint16_t> WsConnection::close_code() const { return impl_->close_code; }

void WsConnection::abort() { impl_->abort(); }

}  // namespace botgate::net
