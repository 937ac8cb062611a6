#include "botgate/onebot/reverse_client.hpp"

#include "botgate/onebot/onebot_event.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate::onebot {

namespace json = boost::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string seconds_text(std::chrono::milliseconds delay) {
  return std::to_string(static_cast<double>(delay.count()) / 1000.0).substr(0, 4) + " s";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> reverse_headers(std::int64_t self_id,
                                                                 const std::string& access_token) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"X-Self-ID", std::to_string(self_id)}, {"X-Client-Role", "Universal"}};
  if (!access_token.empty()) headers.emplace_back("Authorization", "Bearer " + access_token);
  return headers;
}

/// One WebSocket connection and its heartbeat timer, shared with the heartbeat coroutine, which
/// may wake after the connection ended and must then touch nothing else.
struct ReverseClient::Connection {
  Connection(asio::any_io_executor strand, std::unique_ptr<net::WsConnection> socket)
      : ws(std::move(socket)), heartbeat_timer(strand) {}
  std::unique_ptr<net::WsConnection> ws;
  asio::steady_timer heartbeat_timer;
  bool open = true;
};

ReverseClient::ReverseClient(asio::any_io_executor strand, Actions& actions,
                             ReverseClientOptions options)
    : strand_(strand), options_(std::move(options)), actions_(actions), sleep_timer_(strand) {
  status_.kind = "reverse";
  if (!options_.unit_random) options_.unit_random = [] { return unit_random(); };
  options_.ws.headers = reverse_headers(options_.identity.self_id, options_.access_token);
  // A framework that goes silent is found out: a ping half way through, dropped after this.
  if (options_.ws.idle_timeout.count() == 0) {
    options_.ws.idle_timeout = std::max(options_.heartbeat * 4, std::chrono::milliseconds(30'000));
  }
}

ReverseClient::~ReverseClient() = default;

EventSourceStatus ReverseClient::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void ReverseClient::set_status(std::string state, std::string detail) {
  std::lock_guard lock(status_mutex_);
  if (state == "connected" && status_.state != "connecting") ++status_.reconnects;
  status_.state = std::move(state);
  status_.detail = std::move(detail);
}

void ReverseClient::stop() {
  stopping_ = true;
  asio::post(strand_, [this] {
    sleep_timer_.cancel();
    if (current_ && current_->open) {
      current_->open = false;
      current_->heartbeat_timer.cancel();
      current_->ws->abort();
    }
  });
}

asio::awaitable<void> ReverseClient::run(Accept) {
  const std::string label = "onebot bot '" + options_.identity.bot + "'";
  int failures = 0;
  std::string last_failure;
  while (!stopping_) {
    if (failures > 0) {
      const auto delay = backoff_delay(options_.backoff, failures, options_.unit_random());
      set_status("reconnecting", last_failure + "; next attempt in " + seconds_text(delay));
      sleep_timer_.expires_after(delay);
      co_await sleep_timer_.async_wait(use_tuple);
      if (stopping_) break;
    }
    auto socket = co_await net::WsConnection::connect(strand_, options_.url, options_.ws);
    if (!socket) {
      ++failures;
      last_failure = socket.error().message();
      // Once per failure streak at warn; the framework may simply not be up yet.
      if (failures == 1) {
        spdlog::warn("{}: cannot connect to the framework: {}", label, last_failure);
      } else {
        spdlog::debug("{}: cannot connect to the framework: {}", label, last_failure);
      }
      continue;
    }
    if (stopping_) {
      co_await (*socket)->close(1001, "botgate is stopping");
      break;
    }
    failures = 0;
    spdlog::info("{}: connected to the framework as self id {}", label,
                 options_.identity.self_id);
    set_status("connected", "self id " + std::to_string(options_.identity.self_id));
    current_ = std::make_shared<Connection>(strand_, std::move(*socket));
    co_await serve(current_);
    current_.reset();
    if (stopping_) break;
    failures = 1;
    last_failure = "the connection ended";
    spdlog::warn("{}: the framework connection ended; connecting again", label);
  }
  set_status("stopped", "");
}

asio::awaitable<void> ReverseClient::serve(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  auto hello = json::serialize(lifecycle_connect(options_.identity.self_id,
                                                 std::chrono::system_clock::now()));
  if (auto written = co_await c.ws->write(std::move(hello)); !written) {
    c.open = false;
    co_return;
  }
  c.heartbeat_timer.expires_after(options_.heartbeat);
  asio::co_spawn(strand_, heartbeat(connection), asio::detached);
  while (c.open) {
    auto frame = co_await c.ws->read();
    if (!frame) {
      if (c.open) {
        spdlog::info("onebot bot '{}': connection lost: {}", options_.identity.bot,
                     frame.error().message());
      }
      break;
    }
    auto request = parse_action(*frame);
    if (!request) {
      spdlog::info("onebot bot '{}': a frame that is no action was ignored",
                   options_.identity.bot);
      continue;
    }
    // One action after another: a framework's sends reach the outbox in the order it made them.
    auto answer = co_await actions_.run(*request);
    if (!c.open) break;
    if (auto written = co_await c.ws->write(json::serialize(answer)); !written) break;
  }
  c.open = false;
  c.heartbeat_timer.cancel();
  c.ws->abort();
}

asio::awaitable<void> ReverseClient::heartbeat(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  for (;;) {
    co_await c.heartbeat_timer.async_wait(use_tuple);
    if (!c.open) co_return;
    c.heartbeat_timer.expires_after(options_.heartbeat);
    auto beat = json::serialize(heartbeat_event(options_.identity.self_id,
                                                std::chrono::system_clock::now(), true,
                                                options_.heartbeat));
    if (auto written = co_await c.ws->write(std::move(beat)); !written) co_return;
  }
}

asio::awaitable<Result<void>> ReverseClient::post_event(std::string frame) {
  auto connection = current_;
  if (!connection || !connection->open) {
    co_return Error{errc::platform_unavailable, "no OneBot framework is connected"};
  }
  auto written = co_await connection->ws->write(std::move(frame));
  if (!written) {
    co_return Error{errc::platform_unavailable,
                    "the framework connection failed: " + written.error().message()};
  }
  co_return Result<void>{};
}

}  // namespace botgate::onebot
