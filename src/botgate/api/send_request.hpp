#pragma once
/// The body of POST /api/v1/messages, read and checked before anything is queued:
///   {"bot", "chat_id", "chat_type"?, one of "text" | "markdown" | "image_url" | "image_base64" |
///    "segments", "reply_to"?, "idempotency_key"?, "stream"?}
/// ("stream": true opens a streamed reply, text or markdown, which may start empty), and the
/// body of PATCH /api/v1/messages/{id}, which grows a streamed one: {"append" | "text"?,
/// "finish"?}.
/// or, answering an event a forward service took with 202, "reply_to_event" in place of
/// "chat_id", "chat_type" and "reply_to" (the event says where the answer goes).
/// Strict: an unknown key, a wrong type, an empty or oversized value, or two kinds of content
/// is refused with the field it concerns, so that a client's mistake is seen at once rather
/// than as a platform's error minutes later. Pure: no runtime, no store.

#include "botgate/core/outgoing.hpp"
#include "botgate/core/stream.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace botgate::api {

/// Limits of one request (docs/api.md lists them). The body as a whole is limited by
/// `[server] max_body_bytes` (413) before it is read.
inline constexpr std::size_t kMaxSendTextBytes = 65536;     // text, markdown, a segment's
inline constexpr std::size_t kMaxSendIdBytes = 256;         // chat_id, reply_to, user_id
inline constexpr std::size_t kMaxImageUrlBytes = 2048;
inline constexpr std::size_t kMaxSendSegments = 50;
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 128;

/// A message to queue, as the request asked for it.
struct SendRequest {
  /// bot, chat_id, chat_type, reply_to and segments filled in; idempotency_key is the one the
  /// platform gets (see platform_idempotency_key), empty without a client key.
  OutgoingMessage message;
  /// The client's idempotency_key; empty when it gave none.
  std::string client_key;
  /// The event this message answers (its id in the forward's event JSON); empty for a message
  /// addressed by chat_id. The route fills in the chat from the kept event
  /// (OutgoingMessage::in_reply_to).
  std::string reply_to_event;
};

/// Why a request was refused: the field (a JSON path such as "segments[1].url") and what is
/// wrong with it.
struct FieldError {
  std::string field;
  std::string what;
  /// "<field>: <what>", the 400 answer's detail.
  std::string detail() const { return field + ": " + what; }
  bool operator==(const FieldError&) const = default;
};

/// Reads a POST /api/v1/messages body. Whether the bot exists is not its concern (404 is the
/// route's).
std::variant<SendRequest, FieldError> parse_send_request(std::string_view body);

/// Reads a PATCH /api/v1/messages/{id} body: "append" (added to the text) or "text" (replaces
/// it), and "finish": true to end the stream; at least one of them.
std::variant<StreamChange, FieldError> parse_stream_change(std::string_view body);

/// The idempotency key the platform gets (Feishu uuid, Discord nonce, QQ msg_seq's base) for a
/// client key of bot `bot`: a digest of both, the same on every call with them, so that a
/// message queued again after botgate forgot the key is still deduplicated where the platform
/// can (within its own window). Hex only: no '-' that QQ's msg_seq would read a part index from.
std::string platform_idempotency_key(std::string_view bot, std::string_view client_key);

}  // namespace botgate::api
