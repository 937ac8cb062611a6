#pragma once
/// The lease a gateway connection holds (Store::lease_acquire) so that, of several botgate
/// instances on one store, one at a time runs it: a Discord or QQ shard, a WeCom AI bot's long
/// connection. Renewed every ttl/3 while held; counted as lost once a renewal says so, or once
/// no renewal succeeded before the lease would expire in the store.

#include "botgate/core/lease_holder.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace botgate::platforms {

namespace asio = boost::asio;

/// Thread safety: on the strand given at construction only.
class ShardLease {
 public:
  /// `holder`: process_lease_holder() unless a test plays several processes.
  ShardLease(asio::any_io_executor strand, Store& store, std::string name, std::string holder,
             std::string label, std::chrono::milliseconds ttl);
  ~ShardLease();
  ShardLease(const ShardLease&) = delete;
  ShardLease& operator=(const ShardLease&) = delete;

  /// One attempt to take the lease; true once it is ours. Then it is renewed in the background
  /// until release(), and `on_lost` is called (on the strand, once) if it is lost meanwhile.
  asio::awaitable<bool> try_acquire(std::function<void()> on_lost);
  /// Ours, and not past the time it may have expired in the store.
  bool held() const;
  /// Stops renewing and frees the lease in the store, so that another instance takes it at once.
  asio::awaitable<void> release();
  const std::string& name() const noexcept;

 private:
  struct State;
  static asio::awaitable<void> keep_renewing(std::shared_ptr<State> state,
                                             std::uint64_t generation);
  std::shared_ptr<State> state_;  // shared with the renewing coroutine
};

}  // namespace botgate::platforms
