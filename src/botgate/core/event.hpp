#pragma once
/// The one message model that every platform's events are turned into.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace botgate {

/// Plain text.
struct Text {
  std::string text;
  bool operator==(const Text&) const = default;
};
/// A mention of a user (or of everyone when `user_id` is "all").
struct Mention {
  std::string user_id;
  std::string name;
  bool operator==(const Mention&) const = default;
};
/// An image by URL or by a platform key (Feishu image_key).
struct Image {
  std::string url;
  bool operator==(const Image&) const = default;
};
/// Markdown text; platforms without markdown degrade it to text.
struct Markdown {
  std::string markdown;
  bool operator==(const Markdown&) const = default;
};
/// A hyperlink.
struct Link {
  std::string text;
  std::string url;
  bool operator==(const Link&) const = default;
};

using Segment = std::variant<Text, Mention, Image, Markdown, Link>;

enum class ChatType { private_chat, group, channel };

/// "private", "group", "channel" (the Event JSON names).
const char* to_string(ChatType type) noexcept;
/// The key of a conversation's lane, in which its events are handled and its replies sent in
/// order (InboxLanes, the outbox's lanes): the chat's type and id.
std::string chat_lane(ChatType type, std::string_view chat_id);
std::optional<ChatType> chat_type_from_string(std::string_view name) noexcept;

struct Chat {
  std::string id;
  ChatType type = ChatType::private_chat;
  std::optional<std::string> guild_id;
  bool operator==(const Chat&) const = default;
};

struct User {
  std::string id;
  std::string name;
  bool is_bot = false;
  bool operator==(const User&) const = default;
};

struct Message {
  std::string id;
  /// The text with the bot's own mention stripped and trimmed.
  std::string text;
  bool mentions_bot = false;
  std::vector<Segment> segments;
  bool operator==(const Message&) const = default;
};

/// One thing that happened on a platform, addressed to one bot.
struct Event {
  /// botgate's own id, assigned when the event is accepted.
  std::string id;
  std::string platform;  // "feishu", "lark", "wecom", "qq", "discord", "sandbox"
  std::string bot;       // the [[bot]] name
  /// The platform's id for this delivery: the dedup key (Feishu header.event_id).
  std::string platform_event_id;
  std::chrono::system_clock::time_point time{};
  Chat chat;
  User sender;
  std::optional<Message> message;  // empty for non-message events
  /// Platform data a reply needs that is no secret (QQ's chat kind); part of the Event JSON.
  std::string reply_context;
  /// A credential a reply needs (WeCom's WebhookUrl, whose key lets anyone post into the group,
  /// or an AI bot's response_url; Discord's "interaction:<application id>:<interaction token>").
  /// It stays inside botgate: never in the Event JSON (forward, API, message log), never logged;
  /// the store keeps it beside the inbox and outbox rows (not in their JSON) until the reply
  /// that used it is sent or failed. A service that answers later names the event by its id.
  std::string reply_credential;
  bool operator==(const Event&) const = default;
};

}  // namespace botgate
