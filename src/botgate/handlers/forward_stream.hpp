#pragma once
/// A forward service's streamed answer turned into a streamed reply (core/stream.hpp): a 200
/// whose body is `text/plain` or `text/markdown` (its bytes are the text), or
/// `text/event-stream` (server-sent events, as LLM servers send them; see sse_change).

#include "botgate/core/handler.hpp"
#include "botgate/core/http.hpp"
#include "botgate/net/sse_reader.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace botgate::handlers {

/// What one server-sent event does to the reply.
struct SseStep {
  /// The change to make; nullopt: none (an event that carries no text).
  std::optional<StreamChange> change;
  /// `[DONE]`: the answer is complete (as OpenAI ends a stream); what follows is ignored.
  bool done = false;
};

/// The rule (docs/forward.md): `data: [DONE]` ends the reply; an event named `replace` replaces
/// the text, any other (unnamed, or `message`) appends to it; an event named otherwise (`ping`)
/// changes nothing. The text an event carries: its data, unless that is a JSON object, which
/// carries its `"text"` string, or else an OpenAI chat-completion chunk's
/// `choices[0].delta.content`, or else nothing (a chunk with only a role or the usage).
SseStep sse_change(const net::SseEvent& event);

/// Used on the handler's strand, for one answer. It must outlive each take() it starts.
class StreamedAnswer {
 public:
  enum class Kind { text, markdown, events };
  /// The kind of a 200 answer that streams; nullopt for one read whole (JSON) and any other
  /// status.
  static std::optional<Kind> kind_of(const HttpResponse& head);

  explicit StreamedAnswer(HandlerContext& ctx) : ctx_(ctx) {}
  /// The answer's headers said it streams, as `kind`.
  void start(Kind kind) noexcept { kind_ = kind; }
  /// The next piece of the body. A text answer opens the reply at its first piece; an event
  /// stream at its first change.
  asio::awaitable<Result<void>> take(std::string_view piece);
  /// Whether a reply was opened: the event was answered, at least in part.
  bool opened() const noexcept { return stream_.has_value(); }
  std::int64_t id() const noexcept { return stream_ ? stream_->id() : 0; }
  /// Whether the reply ended (finish(), `[DONE]`, cut_short()): what comes after is ignored.
  bool ended() const noexcept { return ended_; }
  /// The body ended whole: the reply is finished (if [DONE] did not already).
  asio::awaitable<Result<void>> finish();
  /// The body broke off: the reply ends now with what came, cut short, `why`.
  asio::awaitable<Result<void>> cut_short(std::string why);

 private:
  asio::awaitable<Result<void>> apply(StreamChange change);
  asio::awaitable<Result<void>> take_text(std::string_view piece);
  asio::awaitable<Result<void>> take_events(std::string_view piece);

  HandlerContext& ctx_;
  Kind kind_ = Kind::text;
  std::optional<ReplyStream> stream_;
  std::string held_;  // a text answer's piece ended inside a character: its start waits here
  net::SseReader events_;
  bool ended_ = false;  // finished ([DONE]): the rest of the body is ignored
};

}  // namespace botgate::handlers
