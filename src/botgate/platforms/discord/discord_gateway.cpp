#include "botgate/platforms/discord/discord_gateway.hpp"

#include "botgate/core/backoff.hpp"
#include "botgate/platforms/discord/discord_gateway_protocol.hpp"
#include "botgate/platforms/discord/discord_sender.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace botgate::discord {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Where the gateway is and with which token: the URL learnt from GET /gateway/bot.
class DiscordEndpoint final : public platforms::GatewayEndpoint {
 public:
  DiscordEndpoint(std::string main_url, std::string token)
      : main_url_(std::move(main_url)), token_(std::move(token)) {}

  asio::awaitable<Result<std::string>> url(std::string resume_url) override {
    co_return discord_gateway_url(resume_url.empty() ? main_url_ : resume_url);
  }
  asio::awaitable<Result<std::string>> credential() override { co_return token_; }

 private:
  std::string main_url_;
  std::string token_;
};

/// Higher is worse: the state a bot's status shows when its shards differ.
int severity(const std::string& state) {
  if (state == "fatal") return 4;
  if (state == "reconnecting") return 3;
  if (state == "connecting") return 2;
  if (state == "stopped") return 1;
  return 0;  // connected, resumed
}

}  // namespace

std::string discord_gateway_url(std::string_view base) {
  std::string url(base);
  if (url.find('?') != std::string::npos) {
    return url;
  }
  const auto scheme_end = url.find("://");
  const auto path_start =
      url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos) {
    url += '/';
  }
  return url + "?v=10&encoding=json";
}

DiscordGateway::DiscordGateway(DiscordConfig config, platforms::PlatformServices& services,
                               DiscordSender& sender)
    : config_(std::move(config)),
      strand_(services.executor),
      store_(services.store),
      proxy_url_(services.proxy_url),
      sender_(sender),
      timer_(strand_) {}

DiscordGateway::~DiscordGateway() = default;

void DiscordGateway::set_status(std::string state, std::string detail) {
  std::lock_guard lock(mutex_);
  status_.state = std::move(state);
  status_.detail = std::move(detail);
}

EventSourceStatus DiscordGateway::status() const {
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

void DiscordGateway::stop() {
  stopping_ = true;
  asio::post(strand_, [this] {
    timer_.cancel();
    std::lock_guard lock(mutex_);
    for (auto& runner : runners_) runner->stop();
  });
}

asio::awaitable<void> DiscordGateway::run(Accept accept) {
  std::mt19937 random(std::random_device{}());
  const BackoffPolicy backoff{std::chrono::seconds(1), std::chrono::seconds(60), 2.0};
  GatewayBotInfo info;
  for (int attempt = 1; !stopping_; ++attempt) {
    auto answer = co_await sender_.gateway_bot();
    if (answer) {
      info = std::move(*answer);
      break;
    }
    if (answer.error().is(errc::token_rejected)) {
      spdlog::error("discord bot '{}': gateway not started: {}", config_.bot_name,
                    answer.error().message());
      set_status("fatal", answer.error().message());
      co_return;
    }
    const auto delay = backoff_delay(
        backoff, attempt, std::uniform_real_distribution<double>(0.0, 1.0)(random));
    spdlog::warn("discord bot '{}': GET /gateway/bot failed ({}); next try in {} ms",
                 config_.bot_name, answer.error().message(), delay.count());
    set_status("reconnecting", answer.error().message());
    timer_.expires_after(delay);
    co_await timer_.async_wait(use_tuple);
  }
  if (stopping_) {
    set_status("stopped", "");
    co_return;
  }

  const int shard_count = config_.shard_count > 0 ? config_.shard_count : std::max(1, info.shards);
  std::vector<int> shard_ids = config_.shards;
  if (shard_ids.empty()) {
    for (int id = 0; id < shard_count; ++id) shard_ids.push_back(id);
  }
  for (int id : shard_ids) {
    if (id >= shard_count) {
      // Only possible with shard_count = 0, where the count is Discord's: identifying would
      // end in close code 4010 anyway.
      const std::string reason = "shard " + std::to_string(id) + " is not below the " +
                                 std::to_string(shard_count) +
                                 " shards Discord recommends: set `shard_count` to the count "
                                 "all processes share, or fix `shards`";
      spdlog::error("discord bot '{}': gateway not started: {}", config_.bot_name, reason);
      set_status("fatal", reason);
      co_return;
    }
  }
  spdlog::info("discord bot '{}': {} of {} shard(s), max_concurrency {}, {} identifies left today",
               config_.bot_name, shard_ids.size(), shard_count, info.max_concurrency,
               info.remaining);
  auto endpoint = std::make_shared<DiscordEndpoint>(info.url, config_.token);
  auto pacer = std::make_shared<platforms::IdentifyPacer>(strand_, info.max_concurrency);
  {
    std::lock_guard lock(mutex_);
    for (int shard_id : shard_ids) {
      DiscordGatewayOptions protocol_options;
      protocol_options.bot_name = config_.bot_name;
      protocol_options.intents = config_.intents;
      protocol_options.shard_id = shard_id;
      protocol_options.shard_count = shard_count;
      protocol_options.bot_user_id = sender_.bot_user_id();
      const std::string shard_name = std::to_string(shard_id) + "/" + std::to_string(shard_count);
      platforms::GatewayRunnerOptions options;
      options.label = "discord bot '" + config_.bot_name + "' shard " + shard_name;
      // The shard count is part of the key: a session of another layout must not be resumed.
      options.session_key = "discord:" + config_.bot_name + ":" + shard_name;
      options.shard_id = shard_id;
      options.ws.proxy_url = proxy_url_;
      runners_.push_back(std::make_unique<platforms::GatewayRunner>(
          strand_, store_, std::make_unique<DiscordGatewayProtocol>(std::move(protocol_options)),
          endpoint, pacer, std::move(options)));
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
          spdlog::critical("discord bot '{}': a gateway shard stopped on a bug: {}",
                           config_.bot_name, ex.what());
        }
      }
      --running;
      timer_.cancel();
    });
  }
  while (running > 0) {
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(use_tuple);
  }
}

}  // namespace botgate::discord
