#pragma once
/// A gateway's accepts in flight. The runner hands each event to the store without waiting for
/// it, so that the events of many frames share the store's group commits instead of taking one
/// transaction each; the pipeline tells which gateway session is durable: the one after the
/// last frame whose events, and those of every frame before it, were all accepted.

#include "botgate/core/event_source.hpp"
#include "botgate/core/gateway.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace botgate::platforms {

namespace asio = boost::asio;

/// Thread safety: every call on the strand given at construction (the runner's).
class AcceptPipeline {
 public:
  AcceptPipeline(asio::any_io_executor strand, std::size_t max_in_flight);
  ~AcceptPipeline();
  AcceptPipeline(const AcceptPipeline&) = delete;
  AcceptPipeline& operator=(const AcceptPipeline&) = delete;

  void set_accept(EventSource::Accept accept);
  /// Called (on the strand) when an accept fails while none had: the reader may be waiting for
  /// a frame and must not wait for the next one to find out.
  void set_on_failure(std::function<void()> on_failure);
  /// Starts accepting `event`; first waits while `max_in_flight` accepts are outstanding.
  asio::awaitable<void> submit(Event event);
  /// The end of a frame: `session` becomes durable once every event submitted so far is.
  void checkpoint(GatewaySession session);
  /// The newest checkpoint that became durable since the last call, if one did.
  std::optional<GatewaySession> take_durable();
  /// Why an accept failed, once one has: no checkpoint after it becomes durable, until reset().
  const std::optional<Error>& failure() const;
  /// Waits until no accept is outstanding.
  asio::awaitable<void> drain();
  /// Forgets a failure and the checkpoints that will never become durable; after drain().
  void reset();

 private:
  struct State;
  /// Holds the state alive, so that an accept finishing after the pipeline is gone is harmless.
  static asio::awaitable<void> accept_one(std::shared_ptr<State> state, std::uint64_t index,
                                          Event event);

  std::shared_ptr<State> state_;
};

}  // namespace botgate::platforms
