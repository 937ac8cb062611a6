#pragma once
/// The interface for bot logic: built-in handlers (rules, forward, echo) and library users'.

#include "botgate/core/event.hpp"
#include "botgate/core/outgoing.hpp"
#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace botgate {

namespace asio = boost::asio;

enum class HandlerResult {
  next,  ///< not handled; the next handler in the chain gets the event
  done,  ///< handled; the chain stops here
  /// Not handled now, but it may be later (the service behind it is down): the chain stops, the
  /// event stays in the durable inbox and the chain runs on it again after
  /// HandlerContext::retry_after(). Its chat's later events wait for it; other chats do not.
  retry,
  /// Cannot be handled: the chain stops and the event is dead-lettered with
  /// HandlerContext::failure() as the reason (kept, visible in the API, retryable from there).
  give_up,
};

/// What opens and grows streamed replies (core/stream.hpp): the Runtime.
class ReplyStreams {
 public:
  virtual ~ReplyStreams() = default;
  virtual asio::awaitable<Result<std::int64_t>> open_stream(OutgoingMessage message,
                                                            std::string client_key) = 0;
  virtual asio::awaitable<Result<StreamSnapshot>> grow_stream(std::int64_t id,
                                                              StreamChange change) = 0;
  /// Ends stream `id` now with the text it has, marked cut short, `why` (its producer broke
  /// off): not after `[api] stream_stall_s`.
  virtual asio::awaitable<Result<void>> cut_stream(std::int64_t id, std::string why) = 0;
};

/// A streamed reply a handler opened (HandlerContext::open_stream): grow it while the answer is
/// written, then finish it. A stream left open is finished by botgate after `[api]
/// stream_stall_s`, cut short.
class ReplyStream {
 public:
  ReplyStream(ReplyStreams& streams, std::int64_t id) : streams_(&streams), id_(id) {}
  /// botgate's id of the message (GET /api/v1/messages/{id}).
  std::int64_t id() const noexcept { return id_; }
  asio::awaitable<Result<void>> append(std::string text, bool finish = false);
  asio::awaitable<Result<void>> replace(std::string text, bool finish = false);
  asio::awaitable<Result<void>> finish();
  /// Ends it now with the text it has, marked cut short (the answer broke off and nothing more
  /// will come): the platform shows it ended at once. `why` goes into the message log.
  asio::awaitable<Result<void>> cut_short(std::string why);

 private:
  asio::awaitable<Result<void>> change(StreamChange change);
  ReplyStreams* streams_;
  std::int64_t id_;
};

/// Collects a handler's replies. Replies go to the event's conversation, as replies to it.
class HandlerContext {
 public:
  using SystemTime = std::chrono::system_clock::time_point;

  /// `attempt`: 1 the first time the chain runs on the event, then 2, 3... after each retry,
  /// counted across restarts. `accepted_at`: when botgate accepted it.
  explicit HandlerContext(const Event& event, int attempt = 1, SystemTime accepted_at = {})
      : event_(event), attempt_(attempt), accepted_at_(accepted_at) {}
  const Event& event() const noexcept { return event_; }
  int attempt() const noexcept { return attempt_; }
  SystemTime accepted_at() const noexcept { return accepted_at_; }
  /// Queues `message` as a reply to the event; it is written to the outbox after the chain ends.
  void reply(OutgoingMessage message);
  /// Opens a streamed reply to the event now (its text, Text or Markdown, may be empty), before
  /// the chain ends: the platform shows it while the handler grows it. Opened again when the
  /// event is handled again (after a crash), it is the same message, already ended.
  /// errc::invalid_argument where nothing can open streams (no Runtime behind the context).
  asio::awaitable<Result<ReplyStream>> open_stream(OutgoingMessage start = OutgoingMessage::plain(""));
  /// The Runtime, which open_stream() uses (set by the chain).
  void set_streams(ReplyStreams* streams) noexcept { streams_ = streams; }
  std::vector<OutgoingMessage>& replies() noexcept { return replies_; }
  /// With `done`: the handler answers the event later through the API (a forward service's
  /// 202), so the event is kept as a reply reference (Store::reply_ref) that a reply can name.
  void answer_later() noexcept { answers_later_ = true; }
  bool answers_later() const noexcept { return answers_later_; }
  /// How many streamed replies open_stream() opened.
  int streams_opened() const noexcept { return streams_opened_; }
  /// Why the handler answers retry or give_up, and for retry how long to wait first.
  void fail(std::string reason, std::chrono::milliseconds retry_after = {});
  const std::string& failure() const noexcept { return failure_; }
  std::chrono::milliseconds retry_after() const noexcept { return retry_after_; }

 private:
  const Event& event_;
  int attempt_;
  SystemTime accepted_at_;
  std::vector<OutgoingMessage> replies_;
  std::string failure_;
  std::chrono::milliseconds retry_after_{};
  bool answers_later_ = false;
  ReplyStreams* streams_ = nullptr;
  int streams_opened_ = 0;
};

/// Bot logic. Called on the bot's strand; events of one chat one at a time, in order, and those
/// of different chats at once (up to the bot's `concurrency`).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) = 0;
  /// Whether, for the events of `bot`, handle() answers at once (it never waits on I/O or a
  /// timer), answers only next or done, opens no stream, does nothing besides its replies, and
  /// may run on any thread. Then the Runtime handles such a bot's events before their accept
  /// commits, and the accept and the replies are one store transaction (Store::accept_handled).
  /// The default: no.
  virtual bool immediate_for(const std::string& bot) const {
    (void)bot;
    return false;
  }
};

}  // namespace botgate
