#include "botgate/api/events_api.hpp"

#include "botgate/api/event_reader.hpp"
#include "botgate/api/event_streams.hpp"
#include "botgate/net/query_string.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

#include <charconv>

namespace botgate::api {
namespace {

bool accepts_event_stream(const HttpRequest& request) {
  return request[http::field::accept].find("text/event-stream") != std::string_view::npos;
}

asio::awaitable<HttpAnswer> stream_events(Runtime& runtime, const ApiAccess& access,
                                          const HttpRequest& request,
                                          net::StreamConnection& connection) {
  const bool websocket = boost::beast::websocket::is_upgrade(request);
  // The query's token only where a browser cannot send the header (docs/api.md says why it is
  // safe there).
  if (auto refused =
          api_refusal(access, request, websocket ? TokenIn::header_or_query : TokenIn::header)) {
    co_return HttpAnswer(std::move(*refused));
  }
  if (!websocket && !accepts_event_stream(request)) {
    co_return json_error(http::status::not_acceptable, "not_acceptable",
                         "send Accept: text/event-stream, or open a WebSocket on this path");
  }
  auto parsed = parse_event_query(request);
  if (const auto* malformed = std::get_if<std::string>(&parsed)) {
    co_return json_error(http::status::bad_request, "bad_query", *malformed);
  }
  EventQuery& query = std::get<EventQuery>(parsed);
  if (!query.filter.bot.empty() && !runtime.has_bot(query.filter.bot)) {
    co_return json_error(http::status::not_found, "unknown_bot",
                         "bot: no bot named '" + query.filter.bot + "'");
  }
  const std::int64_t after = query.after.value_or(runtime.event_feed().head());
  EventReader reader(runtime, connection.stream().get_executor(), std::move(query.filter), after);
  if (websocket) {
    co_await serve_websocket(connection, request, reader);
  } else {
    co_await serve_sse(connection, request, reader);
  }
  HttpAnswer taken;
  taken.connection_taken = true;
  co_return taken;
}

}  // namespace

std::optional<std::int64_t> parse_cursor(std::string_view text) {
  std::int64_t cursor = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cursor);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || cursor < 0) {
    return std::nullopt;
  }
  return cursor;
}

std::variant<EventQuery, std::string> parse_event_query(const HttpRequest& request) {
  const std::string_view target = request.target();
  EventQuery query;
  query.filter.bot = net::query_param(target, "bot").value_or("");
  query.filter.platform = net::query_param(target, "platform").value_or("");
  query.filter.chat = net::query_param(target, "chat").value_or("");
  // A reconnecting EventSource sends Last-Event-ID with the URL it first opened: the header is
  // the newer position.
  if (const auto header = request.find("Last-Event-ID"); header != request.end()) {
    query.after = parse_cursor(header->value());
    if (!query.after) {
      return std::string("Last-Event-ID: not a cursor (the number of an event's id)");
    }
    return query;
  }
  if (const auto after = net::query_param(target, "after")) {
    query.after = parse_cursor(*after);
    if (!query.after) return std::string("after: not a cursor (the number of an event's id)");
  }
  return query;
}

void add_events_api(net::Router& router, Runtime& runtime, const ApiAccess& access) {
  router.add_streaming(
      "/api/v1/events", {http::verb::get},
      [&runtime, &access](const HttpRequest& request, std::string,
                          net::StreamConnection& connection) -> asio::awaitable<HttpAnswer> {
        co_return co_await stream_events(runtime, access, request, connection);
      });
}

}  // namespace botgate::api
