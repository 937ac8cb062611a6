#include "botgate/api/dead_letter_api.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/net/query_string.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace botgate::api {
namespace json = boost::json;
namespace {

constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMostPerPage = 500;

/// A positive decimal id; nullopt otherwise.
std::optional<std::int64_t> id_from(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

HttpResponse store_error(const Error& error) {
  return json_error(http::status::service_unavailable, "store_failed", error.message());
}

}  // namespace

json::object dead_letter_json(const DeadLetter& letter) {
  return json::object{{"id", letter.id},
                      {"bot", letter.event.bot},
                      {"platform", letter.event.platform},
                      {"attempts", letter.attempts},
                      {"reason", letter.reason},
                      {"accepted_at", format_time(letter.accepted_at)},
                      {"dead_at", format_time(letter.dead_at)},
                      // to_json never writes the reply credential.
                      {"event", json::parse(to_json(letter.event))}};
}

void add_dead_letter_api(net::Router& router, Runtime& runtime, const ApiAccess& access) {
  router.add(
      "/api/v1/dead-letters/{id}/retry", {http::verb::post},
      with_api_token(access, [&runtime](const HttpRequest&,
                                        std::string param) -> asio::awaitable<HttpResponse> {
        const auto id = id_from(param);
        if (!id) co_return json_error(http::status::bad_request, "bad_id", "id: not a number");
        auto retried = co_await runtime.retry_dead_letter(*id);
        if (!retried) co_return store_error(retried.error());
        if (!*retried) {
          co_return json_error(http::status::not_found, "not_found",
                               "no dead letter " + param + " (retried or discarded already?)");
        }
        co_return make_response(http::status::accepted,
                                json::serialize(json::object{{"id", *id}, {"retried", true}}));
      }));
  router.add(
      "/api/v1/dead-letters/{id}", {http::verb::delete_},
      with_api_token(access, [&runtime](const HttpRequest&,
                                        std::string param) -> asio::awaitable<HttpResponse> {
        const auto id = id_from(param);
        if (!id) co_return json_error(http::status::bad_request, "bad_id", "id: not a number");
        auto discarded = co_await runtime.discard_dead_letter(*id);
        if (!discarded) co_return store_error(discarded.error());
        if (!*discarded) {
          co_return json_error(http::status::not_found, "not_found", "no dead letter " + param);
        }
        HttpResponse response{http::status::no_content, 11};
        co_return response;
      }));
  router.add(
      "/api/v1/dead-letters", {http::verb::get},
      with_api_token(access, [&runtime](const HttpRequest& request,
                                        std::string) -> asio::awaitable<HttpResponse> {
        const std::string_view target = request.target();
        std::int64_t before = 0;
        std::size_t limit = kDefaultPage;
        if (auto text = net::query_param(target, "before"); text && !text->empty()) {
          const auto id = id_from(*text);
          if (!id) co_return json_error(http::status::bad_request, "bad_query", "before: not an id");
          before = *id;
        }
        if (auto text = net::query_param(target, "limit"); text && !text->empty()) {
          const auto n = id_from(*text);
          if (!n || static_cast<std::size_t>(*n) > kMostPerPage) {
            co_return json_error(http::status::bad_request, "bad_query",
                                 "limit: a number from 1 to " + std::to_string(kMostPerPage));
          }
          limit = static_cast<std::size_t>(*n);
        }
        auto letters = co_await runtime.dead_letters(
            net::query_param(target, "bot").value_or(""), before, limit);
        if (!letters) co_return store_error(letters.error());
        json::array items;
        for (const DeadLetter& letter : *letters) items.push_back(dead_letter_json(letter));
        json::value next = nullptr;
        if (letters->size() == limit) next = letters->back().id;
        HttpResponse response = make_response(
            http::status::ok,
            json::serialize(json::object{{"dead_letters", std::move(items)}, {"next_before", next}}));
        response.set(http::field::cache_control, "no-store");
        co_return response;
      }));
}

}  // namespace botgate::api
