#include "botgate/platforms/common/sharded_gateway.hpp"

#include "botgate/core/backoff.hpp"
#include "botgate/core/lease_holder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace botgate::platforms {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Higher is worse: the state a bot's status shows when its shards differ.
int severity(const std::string& state) {
  if (state == "fatal") return 4;
  if (state == "reconnecting") return 3;
  if (state == "connecting") return 2;
  if (state == "stopped") return 1;
  return 0;  // connected, resumed
}

}  // namespace

ShardedGateway::ShardedGateway(asio::any_io_executor strand, Store& store,
                               ShardedGatewayOptions options)
    : strand_(std::move(strand)), store_(store), options_(std::move(options)), timer_(strand_) {}

ShardedGateway::~ShardedGateway() = default;

std::string ShardedGateway::label() const {
  return options_.platform + " bot '" + options_.bot_name + "'";
}

void ShardedGateway::set_status(std::string state, std::string detail) {
  std::lock_guard lock(mutex_);
  status_.state = std::move(state);
  status_.detail = std::move(detail);
}

EventSourceStatus ShardedGateway::status() const {
  std::lock_guard lock(mutex_);
  if (runners_.empty()) {
    return status_;
  }
  EventSourceStatus folded;
  folded.state = "connected";
  for (const auto& runner : runners_) {
    EventSourceStatus shard = runner->status();
    folded.reconnects += shard.reconnects;
    folded.resumes += shard.resumes;
    if (severity(shard.state) > severity(folded.state)) {
      folded.state = shard.state;
      folded.detail = shard.detail;
    }
  }
  return folded;
}

void ShardedGateway::stop() {
  stopping_ = true;
  asio::post(strand_, [this] {
    timer_.cancel();
    std::lock_guard lock(mutex_);
    for (auto& runner : runners_) runner->stop();
  });
}

asio::awaitable<void> ShardedGateway::run(Accept accept) {
  std::mt19937 random(std::random_device{}());
  const BackoffPolicy backoff{std::chrono::seconds(1), std::chrono::seconds(60), 2.0};
  GatewayInfo info;
  for (int attempt = 1; !stopping_; ++attempt) {
    auto answer = co_await options_.fetch_info();
    if (answer) {
      info = std::move(*answer);
      break;
    }
    if (options_.is_fatal && options_.is_fatal(answer.error())) {
      spdlog::error("{}: gateway not started: {}", label(), answer.error().message());
      set_status("fatal", answer.error().message());
      co_return;
    }
    const auto delay = backoff_delay(
        backoff, attempt, std::uniform_real_distribution<double>(0.0, 1.0)(random));
    spdlog::warn("{}: cannot learn the gateway URL ({}); next try in {} ms", label(),
                 answer.error().message(), delay.count());
    set_status("reconnecting", answer.error().message());
    timer_.expires_after(delay);
    co_await timer_.async_wait(use_tuple);
  }
  if (stopping_) {
    set_status("stopped", "");
    co_return;
  }

  const int shard_count =
      options_.shard_count > 0 ? options_.shard_count : std::max(1, info.shards);
  std::vector<int> shard_ids = options_.shards;
  if (shard_ids.empty()) {
    for (int id = 0; id < shard_count; ++id) shard_ids.push_back(id);
  }
  for (int id : shard_ids) {
    if (id >= shard_count) {
      // Only possible with shard_count = 0, where the count is the platform's: identifying
      // would end in close code 4010 anyway.
      const std::string reason = "shard " + std::to_string(id) + " is not below the " +
                                 std::to_string(shard_count) +
                                 " shards the platform recommends: set `shard_count` to the count "
                                 "all processes share, or fix `shards`";
      spdlog::error("{}: gateway not started: {}", label(), reason);
      set_status("fatal", reason);
      co_return;
    }
  }
  spdlog::info("{}: {} of {} shard(s), max_concurrency {}, {} identifies left", label(),
               shard_ids.size(), shard_count, info.max_concurrency, info.identifies_left);
  auto endpoint = options_.make_endpoint(info);
  auto pacer = std::make_shared<IdentifyPacer>(strand_, info.max_concurrency);
  // Instances on one store spread the shards evenly; a single shard needs no spreading.
  std::shared_ptr<ShardShare> share;
  if (shard_ids.size() > 1) {
    share = std::make_shared<ShardShare>(
        store_, options_.platform + ":" + options_.bot_name, shard_ids, shard_count,
        options_.lease_holder.empty() ? process_lease_holder() : options_.lease_holder,
        GatewayRunnerOptions{}.lease_ttl);
  }
  {
    std::lock_guard lock(mutex_);
    for (int shard_id : shard_ids) {
      const std::string shard_name = std::to_string(shard_id) + "/" + std::to_string(shard_count);
      GatewayRunnerOptions runner_options;
      runner_options.label = label() + " shard " + shard_name;
      // The shard count is part of the key: a session of another layout must not be resumed.
      runner_options.session_key = options_.platform + ":" + options_.bot_name + ":" + shard_name;
      runner_options.shard_id = shard_id;
      // Of several instances on one store, one at a time runs the shard (Discord and QQ refuse
      // a second session of it, or give both the events).
      runner_options.lease_name = "gateway:" + runner_options.session_key;
      runner_options.ws.proxy_url = options_.proxy_url;
      runner_options.lease_holder = options_.lease_holder;
      runner_options.share = share;
      runners_.push_back(std::make_unique<GatewayRunner>(
          strand_, store_, options_.make_protocol(shard_id, shard_count), endpoint, pacer,
          std::move(runner_options)));
    }
  }

  // Run every shard on the bot's strand and return when all have returned.
  std::size_t running = runners_.size();
  for (auto& runner : runners_) {
    if (stopping_) runner->stop();  // stop() came while GET /gateway/bot was in flight
    asio::co_spawn(strand_, runner->run(accept), [this, &running](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::critical("{}: a gateway shard stopped on a bug: {}", label(), ex.what());
        }
      }
      --running;
      timer_.cancel();
    });
  }
  while (running > 0) {
    if (share) {
      timer_.expires_after(GatewayRunnerOptions{}.lease_retry);
    } else {
      timer_.expires_at(asio::steady_timer::time_point::max());
    }
    co_await timer_.async_wait(use_tuple);
    // While every shard runs here: one hand-over a round, so that the others take shards one
    // at a time and no instance stays above its share.
    if (share && !stopping_ && running == runners_.size()) {
      co_await share->refresh();
      if (auto surplus = share->surplus()) {
        for (auto& runner : runners_) {
          if (runner->shard_id() == *surplus) runner->hand_over();
        }
      }
    }
  }
  if (share) co_await share->leave();
}

}  // namespace botgate::platforms
