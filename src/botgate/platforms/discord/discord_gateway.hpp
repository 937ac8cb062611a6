#pragma once
/// A Discord bot's gateway connections: asks GET /gateway/bot where to connect, how many shards
/// Discord recommends and how many may identify at once, then runs one GatewayRunner with a
/// DiscordGatewayProtocol per shard this process owns (`shards`, else all of `shard_count`).

#include "botgate/core/event_source.hpp"
#include "botgate/core/store.hpp"
#include "botgate/platforms/common/gateway_runner.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_config.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace botgate::discord {

class DiscordSender;

/// "<url>/?v=10&encoding=json" for a gateway URL from GET /gateway/bot or READY's
/// resume_gateway_url (which come without the query).
std::string discord_gateway_url(std::string_view base);

/// Thread safety: run() on the bot's strand; stop() and status() from anywhere.
class DiscordGateway final : public EventSource {
 public:
  /// `sender` (the same bot's) answers GET /gateway/bot; it must outlive this object.
  DiscordGateway(DiscordConfig config, platforms::PlatformServices& services,
                 DiscordSender& sender);
  ~DiscordGateway() override;

  asio::awaitable<void> run(Accept accept) override;
  void stop() override;
  /// The shards' statuses folded into one: the worst state (fatal, reconnecting, connecting,
  /// then connected), its detail, and the counters added up.
  EventSourceStatus status() const override;

 private:
  void set_status(std::string state, std::string detail);

  DiscordConfig config_;
  asio::any_io_executor strand_;
  Store& store_;
  std::string proxy_url_;
  DiscordSender& sender_;
  asio::steady_timer timer_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  // guards runners_ (the list, not the runners) and status_
  std::vector<std::unique_ptr<platforms::GatewayRunner>> runners_;
  EventSourceStatus status_;
};

}  // namespace botgate::discord
