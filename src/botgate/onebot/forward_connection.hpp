#pragma once
/// One OneBot v11 forward WebSocket connection: a framework dialled botgate (Koishi's
/// `protocol: 'ws'`, NoneBot2's forward driver) and the route accepted it. On the Universal role
/// it gets the bot's events (meta_event lifecycle connect first, a heartbeat every period) and
/// calls actions, answered on it in the order it called them. Spec: onebot-11
/// communication/ws.md.
///
/// Events wait in a bounded SendQueue and one writer takes them out, so a framework that reads
/// slowly never holds the bot (or its other connections) back: when it falls too far behind it
/// is closed, with a log line, and the events it had queued count as not written by it.

#include "botgate/core/http.hpp"
#include "botgate/net/stream_connection.hpp"
#include "botgate/onebot/send_queue.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace botgate::onebot {

class BotLink;

/// The OneBot WebSocket roles (communication/ws.md): Universal carries events and actions;
/// `/api` actions only; `/event` events only (actions sent there are ignored).
enum class ForwardRole { universal, api, event };

struct ForwardConnectionOptions {
  /// meta_event heartbeat period.
  std::chrono::milliseconds heartbeat{15'000};
  /// Nothing received for this long (a ping goes out half way through): the framework is gone.
  std::chrono::milliseconds idle_timeout{60'000};
  /// The largest action frame taken from the framework.
  std::size_t max_message_bytes = 1024 * 1024;
  /// Events queued and not yet written, by count and by size: passing either closes the
  /// connection.
  std::size_t max_queued_events = 256;
  std::size_t max_queued_bytes = 8 * 1024 * 1024;
};

/// Thread safety: offer() and close() from any thread; run() on the connection's executor
/// (the one the HTTP server gave the request).
class ForwardConnection : public std::enable_shared_from_this<ForwardConnection> {
 public:
  ForwardConnection(asio::any_io_executor executor, BotLink& link, ForwardRole role,
                    std::string peer, ForwardConnectionOptions options);

  /// Accepts the upgrade `request` on `connection` and serves it until either side ends it.
  /// False when the handshake failed (nothing was served).
  asio::awaitable<bool> run(const HttpRequest& request, net::StreamConnection& connection);

  /// Queues an event frame; false when the connection is closed or too far behind (it is then
  /// closed). `delivery` hears whether it was written.
  bool offer(const std::string& frame, const std::shared_ptr<Delivery>& delivery);
  /// Ends the connection soon: with a close frame (botgate stops), or at once when `abort`.
  void close(bool abort = false);

  ForwardRole role() const noexcept { return role_; }
  const std::string& peer() const noexcept { return peer_; }
  std::chrono::system_clock::time_point connected_at() const noexcept { return connected_at_; }

 private:
  struct Socket;
  asio::awaitable<void> write_loop(Socket& socket);
  asio::awaitable<void> read_loop(Socket& socket);
  std::optional<SendQueue::Item> next_item();
  void wake();
  /// Closes the queue and settles what it held as not written.
  void drain();

  asio::any_io_executor executor_;
  BotLink& link_;
  const ForwardRole role_;
  const std::string peer_;
  const ForwardConnectionOptions options_;
  const std::chrono::system_clock::time_point connected_at_;
  asio::steady_timer wake_;  // the writer sleeps on it (on the executor)
  Socket* socket_ = nullptr;  // while run() serves (on the executor)
  bool closing_ = false;      // on the executor
  mutable std::mutex mutex_;  // guards the two below
  SendQueue queue_;
  bool closed_ = false;
};

}  // namespace botgate::onebot
