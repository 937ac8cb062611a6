#pragma once
/// The contracts a platform implements. The runtime sees only these.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/core/event_source.hpp"
#include "botgate/core/http.hpp"
#include "botgate/core/outgoing.hpp"
#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace botgate {

namespace asio = boost::asio;

/// What a callback turned into: events to accept, and the exact acknowledgement the platform
/// expects (a challenge answer, `success`, an echo string).
struct WebhookOutcome {
  std::vector<Event> events;  // empty for challenges and pings
  HttpResponse ack;
  /// For platforms whose acknowledgement can carry the reply (a Discord interaction response):
  /// with a non-zero window and `reply_ack`, the runtime waits up to `reply_window` for the
  /// handlers' first reply to `events[0]` and answers `reply_ack(reply)` instead of `ack`; that
  /// reply is then not sent again by the Sender. When `reply_ack` returns nothing, or the
  /// handlers take longer, `ack` goes out (a deferred answer) and the Sender sends every reply.
  std::chrono::milliseconds reply_window{0};
  std::function<std::optional<HttpResponse>(const OutgoingMessage&)> reply_ack = {};
};

/// Turns one platform callback into events. No I/O and no store: what it reads besides the
/// request is in memory (a WeCom AI bot's passive streams, shared with its sender). Safe to call
/// from any thread at once.
class WebhookHandler {
 public:
  virtual ~WebhookHandler() = default;
  /// Verifies, decrypts and parses. A failure is an `Error` whose `http_status_for()` is the
  /// status to answer (401 forged, 400 malformed); it produces no event.
  virtual Result<WebhookOutcome> handle(const HttpRequest& request) const = 0;
  /// Whether an outcome may carry a reply window (WebhookOutcome::reply_window). An event whose
  /// answer waits for its reply goes through the inbox, and the runtime then sends its chat's
  /// later events there too while it is (core/inbox_path_guard), so that no reply overtakes an
  /// earlier event's. The default: no.
  virtual bool answers_in_callback() const { return false; }
};

/// How often and how long a sender waited for a platform's rate limits inside send().
struct RateLimitWaits {
  std::uint64_t count = 0;
  std::uint64_t total_ms = 0;
};

/// Delivers outgoing messages through the platform's send API.
/// Calls come from the bot's outbox worker, one at a time, on the bot's strand.
class Sender {
 public:
  virtual ~Sender() = default;
  /// Gets the bot ready to send (fetches the access token). Readiness waits on it.
  virtual asio::awaitable<Result<void>> prepare() = 0;
  /// Sends one message. A retryable error (`is_retryable`) is tried again later by the outbox
  /// with the same idempotency key; any other error marks the message failed.
  virtual asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) = 0;
  /// Renders streamed message `message` (OutgoingMessage::stream; its text and end come from
  /// `feed`) while it grows, throttled to the platform's limits, until it ended and its final
  /// text is shown. Errors as for send(): a retryable one is tried again by the outbox with the
  /// progress saved (StreamFeed::save_progress), so nothing is sent twice. The default, for a
  /// platform with no way to change a message it sent: the final text, as send() sends any
  /// message (send_stream_whole).
  virtual asio::awaitable<Result<SentMessage>> send_stream(const OutgoingMessage& message,
                                                           StreamFeed& feed);
  /// The handlers answered `event` with nothing: no reply, no streamed reply, and none promised
  /// through the API. A platform that shows the user an answer pending from the moment the
  /// event arrived (a WeCom AI bot's passive stream) ends it here. Called on the bot's strand
  /// before the event leaves the inbox, or, for an event handled before its accept commits
  /// (Handler::immediate_for), on the accepting thread after the commit: safe from any thread.
  /// The default does nothing.
  virtual void no_reply(const Event& event) { (void)event; }
  /// Whether this bot can take back messages it sent (recall). The default: no. Asked before a
  /// recall is queued, so that a platform without the call refuses it at once.
  virtual bool can_recall() const { return false; }
  /// Takes back (deletes) the platform's message `platform_message_id` in the chat `where`
  /// addresses (its chat_id, chat_type and reply_context, as the message was sent with). A message
  /// that is gone already counts as taken back, so that a recall tried again after a lost answer
  /// ends well. Errors as for send(): a retryable one is tried again by the outbox.
  virtual asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                               const std::string& platform_message_id) {
    (void)where;
    (void)platform_message_id;
    co_return Error{errc::platform_rejected, "this platform has no way to take a message back"};
  }
  /// Splits a message that is too long for one platform message (WeCom markdown 4096 bytes,
  /// Discord 2000 characters) into several, each sent and retried on its own. Called before
  /// the message enters the outbox, so a retry never re-sends a part that was delivered.
  /// The default keeps the message whole.
  virtual std::vector<OutgoingMessage> split(OutgoingMessage message) const {
    std::vector<OutgoingMessage> parts;
    parts.push_back(std::move(message));
    return parts;
  }
  /// Turns all the replies of one event (in order) into the messages that enter the outbox.
  /// The default puts each through split(). A platform that limits how many messages may answer
  /// one event merges them here, where all of them are known: a WeCom AI bot's response_url
  /// takes one POST, QQ takes 5 passive replies per msg_id. Called before the idempotency keys
  /// are given (one per returned message).
  virtual std::vector<OutgoingMessage> split_replies(std::vector<OutgoingMessage> replies) const {
    std::vector<OutgoingMessage> out;
    for (OutgoingMessage& reply : replies) {
      for (OutgoingMessage& part : split(std::move(reply))) out.push_back(std::move(part));
    }
    return out;
  }
  /// When the cached access token expires (never the token itself), for the status views;
  /// nothing for platforms whose credential does not expire. Called from any thread.
  virtual std::optional<std::chrono::system_clock::time_point> token_expires_at() const {
    return std::nullopt;
  }
  /// The rate-limit waits spent inside send() (short ones a sender sits out itself, such as
  /// Discord's buckets); longer ones come back as errc::rate_limited and the runtime counts
  /// those. Called from any thread.
  virtual RateLimitWaits rate_limit_waits() const { return {}; }
};

/// One configured bot's platform parts, built by the platform's factory.
struct BotParts {
  std::unique_ptr<WebhookHandler> webhook;  // null when the bot has no callback URL
  /// The webhook answers at /webhook/<name>. False for a built-in bot (the console's sandbox),
  /// whose callback the runtime takes only through the API, behind its token
  /// (Runtime::WebhookRoute::api); the wiring sets it from the platform's declaration
  /// (platforms::PlatformDescriptor::builtin_bot).
  bool webhook_public = true;
  std::unique_ptr<Sender> sender;
  /// Gateway connections (one per shard); empty for callback-only platforms.
  std::vector<std::unique_ptr<EventSource>> sources;
  /// How many of its chats have their events handled at once; 0: RuntimeOptions's. The wiring
  /// sets it from the bot's `concurrency` key.
  std::size_t inbox_concurrency = 0;
};

}  // namespace botgate
