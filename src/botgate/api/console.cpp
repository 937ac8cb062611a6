#include "botgate/api/console.hpp"

#include "botgate/api/api_auth.hpp"
#include "botgate/api/console_assets.hpp"

namespace botgate::api {
namespace {

const Asset* find_asset(std::string_view name) {
  for (const Asset& asset : console_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

HttpResponse asset_response(const Asset& asset) {
  HttpResponse response = make_response(http::status::ok, std::string(asset.bytes),
                                        content_type_for(asset.name));
  // The page talks only to this server; no frame may embed it (clickjacking).
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set(http::field::cache_control, "no-cache");
  return response;
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  auto ends = [&](std::string_view suffix) { return file_name.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

void add_console(net::Router& router, Runtime& runtime, const ApiAccess& access,
                 std::string sandbox_bot) {
  router.add("/", {http::verb::get},
             with_allowed_host(access, [](const HttpRequest&,
                                          std::string) -> asio::awaitable<HttpResponse> {
               const Asset* page = find_asset("index.html");
               if (page == nullptr) {
                 co_return make_response(http::status::not_found,
                                         R"({"error":"this build has no console"})");
               }
               co_return asset_response(*page);
             }));
  router.add("/assets/{file}", {http::verb::get},
             with_allowed_host(access, [](const HttpRequest&,
                                          std::string file) -> asio::awaitable<HttpResponse> {
               const Asset* asset = find_asset(file);
               if (asset == nullptr || file == "index.html") {
                 co_return make_response(http::status::not_found, R"({"error":"not found"})");
               }
               co_return asset_response(*asset);
             }));
  router.add("/api/v1/sandbox/messages", {http::verb::post},
             with_api_token(access,
                            [&runtime, bot = std::move(sandbox_bot)](
                                const HttpRequest& request,
                                std::string) -> asio::awaitable<HttpResponse> {
                              // The sandbox carries no reply in its answer; had it one,
                              // the answer's end unwritten would have the outbox send it.
                              HttpAnswer answer = co_await runtime.on_webhook(
                                  bot, request, Runtime::WebhookRoute::api);
                              co_return std::move(answer.response);
                            }));
}

}  // namespace botgate::api
