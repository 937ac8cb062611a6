#include "botgate/handlers/forward_stream.hpp"

#include "botgate/core/utf8.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <utility>

namespace botgate::handlers {
namespace json = boost::json;
namespace {

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

/// The text an event's JSON object carries: "text", else choices[0].delta.content.
std::string text_of_object(const json::object& o) {
  if (const auto* text = o.if_contains("text"); text && text->is_string()) {
    return std::string(text->get_string());
  }
  const auto* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) return {};
  const auto* choice = choices->get_array().front().if_object();
  const auto* delta = choice ? choice->if_contains("delta") : nullptr;
  const auto* delta_object = delta ? delta->if_object() : nullptr;
  const auto* content = delta_object ? delta_object->if_contains("content") : nullptr;
  return content && content->is_string() ? std::string(content->get_string()) : std::string{};
}

}  // namespace

SseStep sse_change(const net::SseEvent& event) {
  SseStep step;
  if (event.data == "[DONE]") {
    step.done = true;
    return step;
  }
  const bool replace = event.name == "replace";
  if (!replace && event.name != "message") return step;
  std::string text = event.data;
  if (!text.empty() && text.front() == '{') {
    boost::system::error_code ec;
    const json::value value = json::parse(text, ec);
    if (!ec && value.is_object()) text = text_of_object(value.get_object());
  }
  if (!replace && text.empty()) return step;
  step.change = StreamChange{replace ? StreamChange::replace : StreamChange::append,
                             std::move(text), false};
  return step;
}

std::optional<StreamedAnswer::Kind> StreamedAnswer::kind_of(const HttpResponse& head) {
  if (head.result_int() != 200) return std::nullopt;
  std::string type(head[http::field::content_type]);
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type.starts_with("text/plain")) return Kind::text;
  if (type.starts_with("text/markdown")) return Kind::markdown;
  if (type.starts_with("text/event-stream")) return Kind::events;
  return std::nullopt;
}

asio::awaitable<Result<void>> StreamedAnswer::take(std::string_view piece) {
  if (ended_) co_return Result<void>{};
  if (kind_ == Kind::events) co_return co_await take_events(piece);
  co_return co_await take_text(piece);
}

asio::awaitable<Result<void>> StreamedAnswer::take_text(std::string_view piece) {
  std::string text = std::exchange(held_, {});
  text.append(piece);
  held_ = text.substr(text.size() - unfinished_utf8_tail(text));
  text.resize(text.size() - held_.size());
  if (stream_ && text.empty()) co_return Result<void>{};
  StreamChange change{StreamChange::append, std::move(text), false};
  co_return co_await apply(std::move(change));
}

asio::awaitable<Result<void>> StreamedAnswer::take_events(std::string_view piece) {
  for (const net::SseEvent& event : events_.feed(piece)) {
    SseStep step = sse_change(event);
    if (step.change) {
      auto applied = co_await apply(std::move(*step.change));
      if (!applied) co_return applied;
    }
    if (step.done) {
      co_return co_await finish();
    }
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> StreamedAnswer::apply(StreamChange change) {
  // A service's bytes are not trusted to be UTF-8 (the split character held back is whole by
  // now): what is not becomes U+FFFD rather than text the store and platforms cannot take.
  if (!is_valid_utf8(change.text)) change.text = to_valid_utf8(change.text);
  if (!stream_) {
    // The first change opens the reply with its text (a replacement is the same at the start).
    OutgoingMessage start = kind_ == Kind::markdown
                                ? OutgoingMessage::markdown(std::move(change.text))
                                : OutgoingMessage::plain(std::move(change.text));
    auto opened = co_await ctx_.open_stream(std::move(start));
    if (!opened) co_return opened.error();
    stream_.emplace(std::move(*opened));
    co_return Result<void>{};
  }
  if (change.kind == StreamChange::replace) {
    co_return co_await stream_->replace(std::move(change.text));
  }
  co_return co_await stream_->append(std::move(change.text));
}

asio::awaitable<Result<void>> StreamedAnswer::finish() {
  if (ended_ || !stream_) {
    ended_ = true;
    co_return Result<void>{};
  }
  ended_ = true;
  std::string rest = std::exchange(held_, {});  // a character the body ended inside of
  if (!is_valid_utf8(rest)) rest = to_valid_utf8(rest);
  co_return co_await stream_->append(std::move(rest), true);
}

asio::awaitable<Result<void>> StreamedAnswer::cut_short(std::string why) {
  if (ended_ || !stream_) co_return Result<void>{};
  ended_ = true;
  co_return co_await stream_->cut_short(std::move(why));
}

}  // namespace botgate::handlers
