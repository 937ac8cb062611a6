#pragma once
/// What handlers produce and senders deliver.

#include "botgate/core/event.hpp"

#include <string>
#include <vector>

namespace botgate {

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
