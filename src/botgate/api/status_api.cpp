#include "botgate/api/status_api.hpp"

#include "botgate/api/api_answers.hpp"
#include "botgate/api/api_auth.hpp"
#include "botgate/core/event_json.hpp"


#include <utility>

namespace botgate::api {
namespace json = boost::json;
namespace {

json::value time_or_null(const std::optional<SystemTime>& time) {
  if (!time) return nullptr;
  return json::value(format_time(*time));
}

}  // namespace

json::object bot_status_json(const BotStatus& bot, const QueueDepth& depth) {
  json::array connections;
  for (const EventSourceStatus& connection : bot.connections) {
    json::object entry{{"state", connection.state},
                       {"detail", connection.detail},
                       {"reconnects", connection.reconnects},
                       {"resumes", connection.resumes},
                       {"frames_skipped", connection.frames_skipped}};
    if (!connection.kind.empty()) entry["kind"] = connection.kind;
    if (!connection.peer.empty()) entry["peer"] = connection.peer;
    connections.emplace_back(std::move(entry));
  }
  json::object out;
  out["name"] = bot.name;
  out["platform"] = bot.platform;
  out["ready"] = bot.ready;
  out["last_error"] = bot.last_error;
  out["webhook_path"] = bot.has_webhook ? json::value("/webhook/" + bot.name) : json::value();
  out["concurrency"] = bot.inbox_concurrency;
  out["events_in"] = bot.events_in;
  out["messages_sent"] = bot.messages_sent;
  out["send_failures"] = bot.send_failures;
  out["delivery_uncertain"] = bot.delivery_uncertain;
  out["callbacks_rejected"] = bot.callbacks_rejected;
  out["handling_retries"] = bot.handling_retries;
  out["dead_lettered"] = bot.dead_lettered;
  out["last_event_at"] = time_or_null(bot.last_event_at);
  out["last_callback_at"] = time_or_null(bot.last_callback_at);
  out["token_expires_at"] = time_or_null(bot.token_expires_at);
  out["inbox_depth"] = depth.inbox;
  out["outbox_depth"] = depth.outbox;
  out["dead_letters"] = depth.dead_letters;
  out["rate_limit_waits"] = bot.rate_limit_waits;
  out["rate_limited_ms"] = bot.rate_limited_ms;
  out["connections"] = std::move(connections);
  return out;
}

namespace {

/// Every bot's JSON, and whether all of them are ready.
asio::awaitable<std::pair<json::array, bool>> bots_json(Runtime& runtime) {
  json::array bots;
  bool ready = true;
  for (BotStatus& bot : runtime.status()) {
    ready = ready && bot.ready;
    // A store that cannot answer shows empty queues rather than hiding the bot.
    auto depth = co_await runtime.queue_depth(bot.name);
    bots.emplace_back(bot_status_json(bot, depth ? *depth : QueueDepth{}));
  }
  co_return std::pair<json::array, bool>{std::move(bots), ready};
}

}  // namespace

void add_status_api(net::Router& router, Runtime& runtime, const ApiAccess& access,
                    StatusApiOptions options) {
  router.add(
      "/api/v1/status", {http::verb::get},
      with_api_token(access, [&runtime, options = std::move(options)](
                                           const HttpRequest&,
                                           std::string) -> asio::awaitable<HttpResponse> {
        auto [bots, ready] = co_await bots_json(runtime);
        json::array platforms;
        for (const std::string& name : options.platforms) platforms.emplace_back(name);
        json::object body{{"time", format_time(std::chrono::system_clock::now())},
                          {"started_at", format_time(options.started_at)},
                          {"ready", ready},
                          {"platforms", std::move(platforms)},
                          {"bots", std::move(bots)}};
        co_return json_answer(http::status::ok, body);
      }));
  router.add("/api/v1/bots", {http::verb::get},
             with_api_token(access, [&runtime](const HttpRequest&,
                                               std::string) -> asio::awaitable<HttpResponse> {
               auto listed = co_await bots_json(runtime);
               json::object body{{"bots", std::move(listed.first)}};
               co_return json_answer(http::status::ok, body);
             }));
}

}  // namespace botgate::api
