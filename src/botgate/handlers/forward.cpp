#include "botgate/handlers/forward.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/http.hpp"
#include "botgate/net/http_client.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::handlers {
namespace json = boost::json;

Result<std::vector<OutgoingMessage>> parse_forward_response(std::string_view body) {
  std::vector<OutgoingMessage> out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return Error{errc::malformed_payload, "answer is not a JSON object"};
  const json::object& o = value.get_object();
  if (const auto* reply = o.if_contains("reply"); reply && !reply->is_null()) {
    if (!reply->is_string()) return Error{errc::malformed_payload, "reply is not a string"};
    out.push_back(OutgoingMessage::plain(std::string(reply->get_string())));
  }
  if (const auto* messages = o.if_contains("messages"); messages && !messages->is_null()) {
    if (!messages->is_array()) return Error{errc::malformed_payload, "messages is not an array"};
    for (const auto& item : messages->get_array()) {
      const auto* m = item.if_object();
      if (m == nullptr) return Error{errc::malformed_payload, "a message is not an object"};
      OutgoingMessage message;
      if (const auto* text = m->if_contains("text"); text && text->is_string()) {
        message.segments.emplace_back(Text{std::string(text->get_string())});
      }
      if (const auto* md = m->if_contains("markdown"); md && md->is_string()) {
        message.segments.emplace_back(Markdown{std::string(md->get_string())});
      }
      if (const auto* image = m->if_contains("image_url"); image && image->is_string()) {
        message.segments.emplace_back(Image{std::string(image->get_string())});
      }
      if (message.segments.empty()) {
        return Error{errc::malformed_payload, "a message has no text, markdown or image_url"};
      }
      out.push_back(std::move(message));
    }
  }
  return out;
}

ForwardHandler::ForwardHandler(boost::asio::any_io_executor executor, std::string url,
                               std::chrono::milliseconds timeout)
    : url_(std::move(url)) {
  net::HttpClientOptions options;
  options.request_timeout = timeout;
  options.connect_timeout = timeout;
  http_ = std::make_unique<net::HttpClient>(executor, options);
}

ForwardHandler::~ForwardHandler() = default;

asio::awaitable<HandlerResult> ForwardHandler::handle(const Event& event, HandlerContext& ctx) {
  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::content_type, "application/json");
  request.body() = to_json(event);
  // The event carries its id, by which the service can tell a second copy: a POST cut off on
  // a stale pooled connection may go again (as before the client knew about idempotency).
  net::RequestOptions options;
  options.idempotent = true;
  auto response = co_await http_->send(url_, std::move(request), options);
  if (!response) {
    spdlog::warn("forward: event {} of bot {} not forwarded: {}", event.id, event.bot,
                 response.error().message());
    co_return HandlerResult::next;
  }
  const unsigned status = response->result_int();
  if (status < 200 || status >= 300) {
    spdlog::warn("forward: event {} of bot {}: the service answered HTTP {}", event.id, event.bot,
                 status);
    co_return HandlerResult::next;
  }
  auto replies = parse_forward_response(response->body());
  if (!replies) {
    spdlog::warn("forward: event {} of bot {}: {}", event.id, event.bot,
                 replies.error().message());
    co_return HandlerResult::next;
  }
  for (OutgoingMessage& reply : *replies) ctx.reply(std::move(reply));
  co_return HandlerResult::done;
}

}  // namespace botgate::handlers
