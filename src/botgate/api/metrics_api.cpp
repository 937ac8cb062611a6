#include "botgate/api/metrics_api.hpp"

#include "botgate/api/metrics_text.hpp"

namespace botgate::api {

void add_metrics_api(net::Router& router, Runtime& runtime, const ApiAccess& access,
                     MetricsOptions options) {
  net::RouteHandler scrape = [&runtime, started_at = options.started_at](
                                 const HttpRequest&, std::string) -> asio::awaitable<HttpResponse> {
    std::vector<BotFigures> bots;
    for (BotStatus& status : runtime.status()) {
      auto depth = co_await runtime.queue_depth(status.name);
      BotFigures figures{std::move(status), std::nullopt};
      if (depth) figures.depth = *depth;
      bots.push_back(std::move(figures));
    }
    const ProcessFigures process{started_at, resident_memory_bytes(), runtime.store_upkeep()};
    HttpResponse response = make_response(http::status::ok, metrics_text(bots, process),
                                          kMetricsContentType);
    response.set(http::field::cache_control, "no-store");
    co_return response;
  };
  router.add("/metrics", {http::verb::get},
             options.public_access ? with_allowed_host(access, std::move(scrape))
                                   : with_api_token(access, std::move(scrape)));
}

}  // namespace botgate::api
