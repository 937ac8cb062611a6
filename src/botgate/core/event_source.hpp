#pragma once
/// Events that arrive over a connection the bot keeps open (the Discord and QQ gateways) instead
/// of as callbacks to /webhook/<bot>.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <vector>

namespace botgate {

namespace asio = boost::asio;

/// What the status views show about a connection. `state`: "connecting", "connected",
/// "resumed", "reconnecting", "standby" (another instance on the same store runs it), "stopped",
/// "fatal"; `detail`: why (never a secret).
struct EventSourceStatus {
  std::string state = "connecting";
  std::string detail;
  std::uint64_t reconnects = 0;
  std::uint64_t resumes = 0;
  /// Frames the protocol did not understand and skipped (GatewayAction SkipFrame).
  std::uint64_t frames_skipped = 0;
  /// What sort of connection, where several sorts exist ("reverse", "forward" for OneBot);
  /// empty for a platform's gateway.
  std::string kind = {};
  /// The other end ("127.0.0.1:52144"), for a connection botgate accepted.
  std::string peer = {};
};

class EventSource {
 public:
  /// Makes one event durable (dedup + inbox), as for a webhook; false for a duplicate. The source
  /// must not confirm an event to the platform (save a sequence past it) before this returns.
  using Accept = std::function<asio::awaitable<Result<bool>>(Event)>;

  virtual ~EventSource() = default;
  /// Runs on the bot's strand until `stop()`, or until a fatal error (then `status()` says why).
  virtual asio::awaitable<void> run(Accept accept) = 0;
  /// Makes `run()` return soon, closing the connection so that it can be resumed; from any thread.
  virtual void stop() = 0;
  /// Thread-safe.
  virtual EventSourceStatus status() const = 0;
  /// The connections the status views show, one entry each: status() for a source that keeps
  /// one; a source that accepts connections lists those open now (maybe none). Thread-safe.
  virtual std::vector<EventSourceStatus> connections() const { return {status()}; }
};

}  // namespace botgate
