#include "botgate/handlers/forward.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/http.hpp"
#include "botgate/handlers/forward_signature.hpp"
#include "botgate/net/http_client.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
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

/// A streamed answer's kind: text/plain streams text, text/markdown markdown; anything else is
/// read whole (JSON).
std::optional<bool> streamed_markdown(const HttpResponse& response) {
  if (response.result_int() != 200) return std::nullopt;
  std::string type(response[http::field::content_type]);
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type.starts_with("text/plain")) return false;
  if (type.starts_with("text/markdown")) return true;
  return std::nullopt;
}

/// How many bytes at the end of `text` start a UTF-8 sequence that has not ended yet: a piece
/// of a streamed answer may end inside a character, which waits for the next piece.
std::size_t unfinished_utf8_tail(std::string_view text) {
  std::size_t back = 0;
  while (back < text.size() && back < 4) {
    const auto c = static_cast<unsigned char>(text[text.size() - 1 - back]);
    ++back;
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
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
  // A text/plain (or text/markdown) answer is a streamed reply: shown as it arrives.
  std::optional<ReplyStream> stream;
  std::string held;  // the end of a piece inside a character
  bool markdown = false;
  options.stream_body = [&markdown](const HttpResponse& head) {
    const auto kind = streamed_markdown(head);
    if (kind) markdown = *kind;
    return kind.has_value();
  };
  options.on_body = [&](std::string_view piece) -> asio::awaitable<Result<void>> {
    std::string text = std::exchange(held, {});
    text.append(piece);
    held = text.substr(text.size() - unfinished_utf8_tail(text));
    text.resize(text.size() - held.size());
    if (!stream) {
      OutgoingMessage start = markdown ? OutgoingMessage::markdown(std::move(text))
                                       : OutgoingMessage::plain(std::move(text));
      auto opened = co_await ctx.open_stream(std::move(start));
      if (!opened) co_return opened.error();
      stream.emplace(std::move(*opened));
      co_return Result<void>{};
    }
    if (text.empty()) co_return Result<void>{};
    co_return co_await stream->append(std::move(text));
  };
  const auto started = std::chrono::steady_clock::now();
  auto response = co_await http.send(target.url, std::move(request), options);
  if (stream) {
    // Whatever came next, the event was answered (in part): it is not posted again, which would
    // answer it twice.
    if (!response) {
      spdlog::warn("forward: the streamed answer to event {} of bot {} broke off ({}); its "
                   "message {} ends with what came, after [api] stream_stall_s",
                   event.id, event.bot, response.error().message(), stream->id());
    } else if (auto finished = co_await stream->append(std::move(held), true); !finished) {
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
