#pragma once
/// A bot's gateway connections, one GatewayRunner per shard (Discord, QQ): asks the platform
/// where to connect and how many shards it recommends, then runs the shards this process owns
/// (`shards`, else all of `shard_count`) on the bot's strand, identifies paced by
/// `max_concurrency`.

#include "botgate/core/event_source.hpp"
#include "botgate/core/gateway.hpp"
#include "botgate/core/store.hpp"
#include "botgate/platforms/common/gateway_runner.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace botgate::platforms {

/// GET /gateway/bot (Discord) or /gateway/bot (QQ): where to connect and how.
struct GatewayInfo {
  std::string url;
  int shards = 1;  // recommended
  int max_concurrency = 1;
  int identifies_left = -1;  // session_start_limit.remaining; -1 unknown
};

struct ShardedGatewayOptions {
  std::string platform;  // "discord", "qq": log labels and store keys
  std::string bot_name;
  /// 0: the platform's recommendation.
  int shard_count = 0;
  /// Empty: every shard of shard_count.
  std::vector<int> shards;
  /// Who holds the shards' leases and takes part in sharing them out; empty: this process
  /// (process_lease_holder()). Tests play several instances in one process.
  std::string lease_holder = {};
  std::string proxy_url;

  /// Fetches GatewayInfo; retried with backoff until it succeeds or fails fatally.
  std::function<asio::awaitable<Result<GatewayInfo>>()> fetch_info;
  /// Whether a fetch_info error ends the gateway for good (a rejected bot token).
  std::function<bool(const Error&)> is_fatal;
  /// The connection endpoint for the learnt gateway URL.
  std::function<std::shared_ptr<GatewayEndpoint>(const GatewayInfo&)> make_endpoint;
  /// The protocol of shard `shard_id` of `shard_count`.
  std::function<std::unique_ptr<GatewayProtocol>(int shard_id, int shard_count)> make_protocol;
};

/// Thread safety: run() on the bot's strand; stop() and status() from anywhere.
class ShardedGateway final : public EventSource {
 public:
  ShardedGateway(asio::any_io_executor strand, Store& store, ShardedGatewayOptions options);
  ~ShardedGateway() override;

  asio::awaitable<void> run(Accept accept) override;
  void stop() override;
  /// The shards' statuses folded into one: the worst state (fatal, reconnecting, connecting,
  /// then connected), its detail, and the counters added up.
  EventSourceStatus status() const override;

 private:
  void set_status(std::string state, std::string detail);
  std::string label() const;

  asio::any_io_executor strand_;
  Store& store_;
  ShardedGatewayOptions options_;
  asio::steady_timer timer_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  // guards runners_ (the list, not the runners) and status_
  std::vector<std::unique_ptr<GatewayRunner>> runners_;
  EventSourceStatus status_;
};

}  // namespace botgate::platforms
