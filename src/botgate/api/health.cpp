#include "botgate/api/health.hpp"

#include <boost/json.hpp>

namespace botgate::api {
namespace json = boost::json;

void add_health_routes(net::Router& router, const Runtime& runtime, const ApiAccess& access) {
  router.add("/healthz", {http::verb::get, http::verb::head},
             [](const HttpRequest&, std::string) -> asio::awaitable<HttpResponse> {
               co_return make_response(http::status::ok, R"({"status":"ok"})");
             });
  router.add("/readyz", {http::verb::get, http::verb::head},
             [&runtime, &access](const HttpRequest& request,
                                 std::string) -> asio::awaitable<HttpResponse> {
               json::array bots;
               bool all_ready = true;
               for (const BotStatus& status : runtime.status()) {
                 all_ready = all_ready && status.ready;
                 json::object bot{{"name", status.name},
                                  {"platform", status.platform},
                                  {"ready", status.ready}};
                 if (!status.ready && !status.last_error.empty()) {
                   bot["error"] = status.last_error;
                 }
                 bots.emplace_back(std::move(bot));
               }
               // Probes and load balancers need ready or not; which bots exist and why one
               // is not ready (a platform's error text) is for the API token's holder.
               json::object body{{"ready", all_ready}};
               if (access.has_token(request)) body["bots"] = std::move(bots);
               co_return make_response(all_ready ? http::status::ok
                                                 : http::status::service_unavailable,
                                       json::serialize(body));
             });
}

}  // namespace botgate::api
