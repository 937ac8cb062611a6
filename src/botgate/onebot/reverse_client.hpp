#pragma once
/// OneBot v11 reverse WebSocket, Universal role: botgate dials the framework (NoneBot2, Koishi,
/// ...) at `[onebot] reverse_url`, one connection per bot, and keeps it: events go out on it
/// (ReverseClient::post_event, from the bot's BotLink), the framework's actions come in on it and
/// are answered on it (the bot's Actions). It reconnects with backoff and jitter (core/backoff, as the
/// gateway runner does). Spec: onebot-11 communication/ws-reverse.md.
///
/// An EventSource of its bot: the runtime runs it on the bot's strand, stops it at shutdown and
/// shows its state in the status views. It accepts no events itself (the bot's platform does).

#include "botgate/core/backoff.hpp"
#include "botgate/core/event_source.hpp"
#include "botgate/net/ws_client.hpp"
#include "botgate/onebot/onebot_actions.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace botgate::onebot {

struct ReverseClientOptions {
  BotIdentity identity;
  std::string url;           ///< ws:// or wss://
  std::string access_token;  ///< sent as "Authorization: Bearer <token>" when not empty
  /// meta_event heartbeat period.
  std::chrono::milliseconds heartbeat{15'000};
  /// Between failed connections; a connection that was up resets it.
  BackoffPolicy backoff{std::chrono::milliseconds(1000), std::chrono::seconds(30), 2.0};
  net::WsClientOptions ws;
  /// A number in [0, 1) for the jitter; null: botgate::unit_random.
  std::function<double()> unit_random;
};

/// The upgrade request's headers: X-Self-ID, X-Client-Role: Universal, and Authorization when
/// there is a token.
std::vector<std::pair<std::string, std::string>> reverse_headers(std::int64_t self_id,
                                                                 const std::string& access_token);

/// Thread safety: run() and post_event() on the bot's strand (given at construction); stop()
/// and status() from anywhere.
class ReverseClient final : public EventSource {
 public:
  /// `actions`: the bot's (BotLink's), which answer the framework's actions; they outlive it.
  ReverseClient(asio::any_io_executor strand, Actions& actions, ReverseClientOptions options);
  ~ReverseClient() override;

  asio::awaitable<void> run(Accept accept) override;
  void stop() override;
  EventSourceStatus status() const override;

  /// Sends one event to the framework. errc::platform_unavailable when none is connected or
  /// the write fails (the caller keeps the event and tries again).
  asio::awaitable<Result<void>> post_event(std::string frame);
  const BotIdentity& identity() const noexcept { return options_.identity; }

 private:
  struct Connection;
  asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
  asio::awaitable<void> heartbeat(std::shared_ptr<Connection> connection);
  void set_status(std::string state, std::string detail);

  asio::any_io_executor strand_;
  ReverseClientOptions options_;
  Actions& actions_;
  asio::steady_timer sleep_timer_;
  std::shared_ptr<Connection> current_;  // on the strand
  std::atomic<bool> stopping_{false};
  mutable std::mutex status_mutex_;  // guards status_
  EventSourceStatus status_;
};

}  // namespace botgate::onebot
