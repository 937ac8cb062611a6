#include "botgate/api/dead_letter_api.hpp"

#include "botgate/api/api_answers.hpp"
#include "botgate/core/event_json.hpp"
#include "botgate/net/query_string.hpp"

#include <boost/json/parse.hpp>


namespace botgate::api {
namespace json = boost::json;
namespace {

constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMostPerPage = 500;

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
        const auto id = parse_id(param);
        if (!id) co_return json_error(http::status::bad_request, "bad_id", "id: not a number");
        auto retried = co_await runtime.retry_dead_letter(*id);
        if (!retried) co_return failure_answer("retry a dead letter", retried.error());
        if (!*retried) {
          co_return json_error(http::status::not_found, "not_found",
                               "no dead letter " + param + " (retried or discarded already?)");
        }
        co_return json_answer(http::status::accepted, json::object{{"id", *id}, {"retried", true}});
      }));
  router.add(
      "/api/v1/dead-letters/{id}", {http::verb::delete_},
      with_api_token(access, [&runtime](const HttpRequest&,
                                        std::string param) -> asio::awaitable<HttpResponse> {
        const auto id = parse_id(param);
        if (!id) co_return json_error(http::status::bad_request, "bad_id", "id: not a number");
        auto discarded = co_await runtime.discard_dead_letter(*id);
        if (!discarded) co_return failure_answer("discard a dead letter", discarded.error());
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
          const auto id = parse_id(*text);
          if (!id) co_return json_error(http::status::bad_request, "bad_query", "before: not an id");
          before = *id;
        }
        if (auto text = net::query_param(target, "limit"); text && !text->empty()) {
          const auto n = parse_id(*text);
          if (!n || static_cast<std::size_t>(*n) > kMostPerPage) {
            co_return json_error(http::status::bad_request, "bad_query",
                                 "limit: a number from 1 to " + std::to_string(kMostPerPage));
          }
          limit = static_cast<std::size_t>(*n);
        }
        auto letters = co_await runtime.dead_letters(
            net::query_param(target, "bot").value_or(""), before, limit);
        if (!letters) co_return failure_answer("list the dead letters", letters.error());
        json::array items;
        for (const DeadLetter& letter : *letters) items.push_back(dead_letter_json(letter));
        json::value next = nullptr;
        if (letters->size() == limit) next = letters->back().id;
        co_return json_answer(http::status::ok,
                              json::object{{"dead_letters", std::move(items)}, {"next_before", next}});
      }));
}

}  // namespace botgate::api
