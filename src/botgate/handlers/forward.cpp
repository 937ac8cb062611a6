#include "botgate/handlers/forward.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/http.hpp"
#include "botgate/handlers/forward_signature.hpp"
#include "botgate/handlers/forward_stream.hpp"
#include "botgate/net/http_client.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <utility>

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

namespace {

constexpr std::chrono::seconds kMostRetryAfter{3600};

/// Retry-After in seconds (the HTTP-date form is rare from a service and read as absent).
std::optional<std::chrono::milliseconds> retry_after_of(const HttpResponse& response) {
  const auto value = response[http::field::retry_after];
  if (value.empty() || value.size() > 6) return std::nullopt;
  std::int64_t seconds = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::milliseconds(std::chrono::seconds(
      std::min<std::int64_t>(seconds, kMostRetryAfter.count())));
}

bool status_is_retryable(unsigned status) {
  return status == 408 || status == 425 || status == 429 || status >= 500;
}

std::string describe_age(std::chrono::milliseconds age) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(age).count();
  return s < 120 ? std::to_string(s) + " s" : std::to_string(s / 60) + " min";
}

}  // namespace

HandlerResult decide_forward_failure(const ForwardFailure& failure, const ForwardTarget& target,
                                     const BackoffPolicy& backoff, int attempt,
                                     std::chrono::milliseconds age, double unit_random,
                                     HandlerContext& ctx) {
  if (!failure.retryable) {
    ctx.fail(failure.reason);
    return HandlerResult::give_up;
  }
  if (attempt >= target.max_attempts) {
    ctx.fail("gave up after " + std::to_string(attempt) + " attempt(s): " + failure.reason);
    return HandlerResult::give_up;
  }
  if (age >= target.max_age) {
    ctx.fail("gave up after " + std::to_string(attempt) + " attempt(s) over " +
             describe_age(age) + ": " + failure.reason);
    return HandlerResult::give_up;
  }
  auto wait = backoff_delay(backoff, attempt, unit_random);
  if (failure.retry_after) wait = std::max(wait, std::min(*failure.retry_after, backoff.max));
  ctx.fail(failure.reason, wait);
  return HandlerResult::retry;
}

ForwardHandler::ForwardHandler(boost::asio::any_io_executor executor,
                               std::vector<ForwardTarget> targets,
                               std::map<std::string, std::size_t> target_of_bot,
                               BackoffPolicy backoff)
    : targets_(std::move(targets)), target_of_bot_(std::move(target_of_bot)), backoff_(backoff) {
  for (const ForwardTarget& target : targets_) {
    net::HttpClientOptions options;
    options.request_timeout = target.timeout;
    options.connect_timeout = std::min<std::chrono::milliseconds>(target.timeout,
                                                                  std::chrono::seconds(10));
    clients_.push_back(std::make_unique<net::HttpClient>(executor, options));
  }
}

ForwardHandler::~ForwardHandler() = default;

asio::awaitable<HandlerResult> ForwardHandler::handle(const Event& event, HandlerContext& ctx) {
  const auto bound = target_of_bot_.find(event.bot);
  if (bound == target_of_bot_.end()) co_return HandlerResult::next;
  const ForwardTarget& target = targets_.at(bound->second);
  net::HttpClient& http = *clients_.at(bound->second);

  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::content_type, "application/json");
  request.body() = to_json(event);
  const auto now = std::chrono::system_clock::now();
  const auto unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  request.set(kForwardSignatureHeader,
              forward_signature(target.secret, unix_seconds, request.body()));
  request.set("X-Botgate-Event-Id", event.id);
  request.set("X-Botgate-Attempt", std::to_string(ctx.attempt()));
  // The event carries its id, by which the service can tell a second copy: a POST cut off on
  // a stale pooled connection may go again.
  net::RequestOptions options;
  options.idempotent = true;
  // A text/plain, text/markdown or text/event-stream answer is a streamed reply: shown as it
  // arrives.
  StreamedAnswer streamed(ctx);
  options.stream_body = [&streamed](const HttpResponse& head) {
    const auto kind = StreamedAnswer::kind_of(head);
    if (kind) streamed.start(*kind);
    return kind.has_value();
  };
  options.on_body = [&streamed](std::string_view piece) { return streamed.take(piece); };
  const auto started = std::chrono::steady_clock::now();
  auto response = co_await http.send(target.url, std::move(request), options);
  if (streamed.opened()) {
    // Whatever came next, the event was answered (in part): it is not posted again, which would
    // answer it twice.
    if (!response && streamed.ended()) {
      // [DONE] came: the body after it does not matter.
      spdlog::debug("forward: the answer to event {} of bot {} after its [DONE]: {}", event.id,
                    event.bot, response.error().message());
    } else if (!response) {
      // Nothing more will come: the reply ends now with what came, not after [api]
      // stream_stall_s.
      spdlog::warn("forward: the streamed answer to event {} of bot {} broke off ({}); its "
                   "message {} ends with what came, cut short",
                   event.id, event.bot, response.error().message(), streamed.id());
      if (auto cut = co_await streamed.cut_short("the forward service's answer broke off");
          !cut) {
        spdlog::warn("forward: the streamed answer to event {} of bot {}: {}", event.id,
                     event.bot, cut.error().message());
      }
    } else if (auto finished = co_await streamed.finish(); !finished) {
      spdlog::warn("forward: the streamed answer to event {} of bot {}: {}", event.id, event.bot,
                   finished.error().message());
    }
    co_return HandlerResult::done;
  }

  std::optional<ForwardFailure> failure;
  if (!response) {
    failure = ForwardFailure{"no answer from " + target.url + ": " + response.error().message()};
  } else if (const unsigned status = response->result_int(); status < 200 || status >= 300) {
    failure = ForwardFailure{"the service answered HTTP " + std::to_string(status),
                             status_is_retryable(status), retry_after_of(*response)};
  } else if (status == 202) {
    spdlog::debug("forward: event {} of bot {} accepted (202); the service answers through "
                  "the API",
                  event.id, event.bot);
    ctx.answer_later();
    co_return HandlerResult::done;
  } else if (auto replies = parse_forward_response(response->body()); !replies) {
    failure = ForwardFailure{"the service's answer is unreadable: " + replies.error().message()};
  } else {
    for (OutgoingMessage& reply : *replies) ctx.reply(std::move(reply));
    spdlog::debug("forward: event {} of bot {} answered in {} ms", event.id, event.bot,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    co_return HandlerResult::done;
  }
  const auto age = ctx.accepted_at() == HandlerContext::SystemTime{}
                       ? std::chrono::milliseconds(0)
                       : std::chrono::duration_cast<std::chrono::milliseconds>(now -
                                                                              ctx.accepted_at());
  co_return decide_forward_failure(*failure, target, backoff_, ctx.attempt(), age,
                                   unit_random(), ctx);
}

}  // namespace botgate::handlers
