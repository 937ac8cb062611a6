#pragma once
/// What handlers produce and senders deliver.

#include "botgate/core/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace botgate {

/// An outbox entry that sends nothing and takes back (recalls, deletes) what was sent before, in
/// its chat and in its place in the chat's order: queued after a message, it is carried out after
/// that message was sent.
struct Recall {
  /// botgate's id of the message to take back (Store::outbox_push_message), all of its parts;
  /// 0: `platform_message_id` instead.
  std::int64_t message = 0;
  /// The platform's id of one message of the chat: one received (where the platform lets a bot
  /// delete others' messages), or one not sent through the outbox.
  std::string platform_message_id;
  bool operator==(const Recall&) const = default;
};

/// Leads the idempotency keys of messages queued through Runtime::send (the API, OneBot), never
/// a reply's: a reply to an event gets "<event id prefix>-<i>" (hex digits first). A platform that
/// numbers the answers to one message (QQ's msg_seq) tells the two apart by it.
inline constexpr char kSendKeyMark = 's';

/// One message to send. Written to the durable outbox before it is sent.
struct OutgoingMessage {
  std::string bot;
  std::string chat_id;
  ChatType chat_type = ChatType::private_chat;
  /// The platform message id to reply to; empty for a proactive send.
  std::string reply_to;
  /// The sender of the message replied to (WeCom group bots @ them).
  std::string reply_to_user;
  /// Copied from the triggering Event.
  std::string reply_context;
  /// Copied from the triggering Event; never in the outbox JSON, never logged (see
  /// Event::reply_credential).
  std::string reply_credential;
  std::vector<Segment> segments;
  /// Stable across retries and restarts: Feishu `uuid`, Discord `nonce`.
  std::string idempotency_key;
  /// Set: this entry is a recall (Sender::recall), not a message; `segments` is empty.
  std::optional<Recall> recall;
  /// A streamed reply (core/stream.hpp): its text grows after it was queued, through the
  /// Runtime; `segments` hold one Text or Markdown segment, the kind it is rendered as, with the
  /// text it was opened with. Sent through Sender::send_stream, never split.
  bool stream = false;

  static OutgoingMessage plain(std::string text) {
    OutgoingMessage m;
    m.segments.emplace_back(Text{std::move(text)});
    return m;
  }
  static OutgoingMessage markdown(std::string md) {
    OutgoingMessage m;
    m.segments.emplace_back(Markdown{std::move(md)});
    return m;
  }
  /// Addresses this message as a reply to `event`, in its conversation.
  OutgoingMessage& in_reply_to(const Event& event);

  /// The text of every Text, Markdown and Link segment, joined (for logs and plain platforms).
  std::string plain_text() const;
  /// The conversation whose messages are sent one after another, in queue order: the chat id
  /// within its kind (a QQ group and a QQ user may share an id).
  std::string lane() const;
  bool operator==(const OutgoingMessage&) const = default;
};

/// What the platform said about a delivered message.
struct SentMessage {
  std::string platform_message_id;
};

}  // namespace botgate
