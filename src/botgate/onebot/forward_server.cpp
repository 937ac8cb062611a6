#include "botgate/onebot/forward_server.hpp"

#include "botgate/core/log_rate_limit.hpp"
#include "botgate/onebot/bot_link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate::onebot {

namespace {

/// "127.0.0.1:52144", "[::1]:52144"; empty when the socket no longer knows.
std::string peer_of(net::StreamConnection& connection) {
  boost::system::error_code ec;
  const auto endpoint = connection.stream().socket().remote_endpoint(ec);
  if (ec) return "";
  const auto address = endpoint.address();
  const std::string host =
      address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

const char* role_name(ForwardRole role) {
  switch (role) {
    case ForwardRole::api: return "API";
    case ForwardRole::event: return "Event";
    case ForwardRole::universal: break;
  }
  return "Universal";
}

}  // namespace

ForwardServer::ForwardServer(BotLink& link, ForwardServerOptions options)
    : link_(link), options_(options), stopped_(link.strand()) {
  stopped_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<HttpAnswer> ForwardServer::serve(const HttpRequest& request,
                                                 net::StreamConnection& connection,
                                                 ForwardRole role) {
  const std::string& bot = link_.identity().bot;
  const auto executor = connection.stream().get_executor();
  auto session = std::make_shared<ForwardConnection>(executor, link_, role, peer_of(connection),
                                                     options_.connection);
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || connections_.size() >= options_.max_connections) {
      static LogRateLimit log_limit;  // a client may try again as fast as it likes
      if (auto held = log_limit.admit()) {
        spdlog::warn("onebot bot '{}': forward connection from {} refused: {} are open already "
                     "(the limit): 503{}",
                     bot, session->peer(), connections_.size(), suppressed_note(*held));
      }
      boost::json::object body{
          {"error", "too_many_connections"},
          {"detail", "bot '" + bot + "' has " + std::to_string(connections_.size()) +
                         " OneBot connections open, the most it takes"}};
      co_return make_response(http::status::service_unavailable, boost::json::serialize(body));
    }
    connections_.push_back(session);
  }
  spdlog::info("onebot bot '{}': forward connection from {} ({}), self id {}", bot,
               session->peer(), role_name(role), link_.identity().self_id);
  const bool served = co_await session->run(request, connection);
  {
    std::lock_guard lock(mutex_);
    std::erase(connections_, session);
  }
  if (served) {
    spdlog::info("onebot bot '{}': forward connection from {} ended", bot, session->peer());
  }
  // A failed handshake has answered the request itself (Beast writes a 400 for a bad upgrade).
  HttpAnswer taken;
  taken.connection_taken = true;
  co_return taken;
}

std::size_t ForwardServer::offer(const std::string& frame,
                                 const std::shared_ptr<Delivery>& delivery) {
  std::vector<std::shared_ptr<ForwardConnection>> open;
  {
    std::lock_guard lock(mutex_);
    open = connections_;
  }
  std::size_t taken = 0;
  for (const auto& connection : open) {
    if (connection->role() == ForwardRole::api) continue;
    if (connection->offer(frame, delivery)) {
      delivery->offer();
      ++taken;
    }
  }
  return taken;
}

std::size_t ForwardServer::open_connections() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

asio::awaitable<void> ForwardServer::run(Accept) {
  while (!stopping_) {
    co_await stopped_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void ForwardServer::stop() {
  std::vector<std::shared_ptr<ForwardConnection>> open;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    open = connections_;
  }
  for (const auto& connection : open) connection->close();
  asio::post(link_.strand(), [this] { stopped_.cancel(); });
}

EventSourceStatus ForwardServer::status() const {
  EventSourceStatus status;
  status.kind = "forward";
  const std::size_t open = open_connections();
  status.state = stopping_ ? "stopped" : open > 0 ? "connected" : "listening";
  status.detail = std::to_string(open) + " open";
  return status;
}

std::vector<EventSourceStatus> ForwardServer::connections() const {
  std::vector<std::shared_ptr<ForwardConnection>> open;
  {
    std::lock_guard lock(mutex_);
    open = connections_;
  }
  std::vector<EventSourceStatus> out;
  for (const auto& connection : open) {
    EventSourceStatus status;
    status.kind = "forward";
    status.state = "connected";
    status.peer = connection->peer();
    status.detail = std::string("self id ") + std::to_string(link_.identity().self_id) + ", " +
                    role_name(connection->role());
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace botgate::onebot
