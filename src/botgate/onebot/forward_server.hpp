#pragma once
/// The OneBot v11 forward WebSocket of one bot: the connections frameworks opened to botgate
/// for it (forward_routes accepts them), at most `max_connections` at once so that clients
/// cannot exhaust memory. Events go to each of them (offer), the actions they call are
/// answered on them (ForwardConnection). Spec: onebot-11 communication/ws.md.
///
/// An EventSource of its bot, for the status views (one entry per open connection) and the
/// runtime's stop, which closes them; it accepts no events itself (the bot's platform does).

#include "botgate/core/event_source.hpp"
#include "botgate/onebot/forward_connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace botgate::onebot {

struct ForwardServerOptions {
  /// Open connections per bot; one more is refused with 503.
  std::size_t max_connections = 16;
  ForwardConnectionOptions connection;
};

/// Thread safety: serve() on the request's connection executor; offer() on the bot's strand;
/// the rest from anywhere.
class ForwardServer final : public EventSource {
 public:
  ForwardServer(BotLink& link, ForwardServerOptions options = {});

  /// Serves the WebSocket upgrade `request` on `connection` in `role` until the connection
  /// ends. Answers 503 when the bot has max_connections open already.
  asio::awaitable<HttpAnswer> serve(const HttpRequest& request, net::StreamConnection& connection,
                                    ForwardRole role);

  /// Queues `frame` on every connection that takes events, each one an offer of `delivery`.
  /// Returns how many took it.
  std::size_t offer(const std::string& frame, const std::shared_ptr<Delivery>& delivery);

  std::size_t open_connections() const;

  asio::awaitable<void> run(Accept accept) override;
  void stop() override;
  EventSourceStatus status() const override;
  std::vector<EventSourceStatus> connections() const override;

 private:
  BotLink& link_;
  ForwardServerOptions options_;
  asio::steady_timer stopped_;  // run() waits on it (on the bot's strand)
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;  // guards connections_
  std::vector<std::shared_ptr<ForwardConnection>> connections_;
};

}  // namespace botgate::onebot
