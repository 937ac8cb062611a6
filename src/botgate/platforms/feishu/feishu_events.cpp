#include "botgate/platforms/feishu/feishu_events.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/platforms/common/json_fields.hpp"

namespace botgate::feishu {
namespace json = boost::json;
namespace {

using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_front(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_back(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) { return trim_back(trim_front(s)); }

/// Text of a `post` message: paragraphs of text/a/at/md elements, possibly under a locale key.
std::string post_text(const json::object& content, std::vector<MentionKey>& mentions) {
  const json::object* body = &content;
  if (!content.contains("content")) {
    for (const auto& [locale, value] : content) {
      if (value.is_object() && value.get_object().contains("content")) {
        body = &value.get_object();
        break;
      }
    }
  }
  std::string out;
  const auto* paragraphs = body->if_contains("content");
  if (paragraphs == nullptr || !paragraphs->is_array()) return out;
  for (const auto& paragraph : paragraphs->get_array()) {
    if (!paragraph.is_array()) continue;
    if (!out.empty()) out += '\n';
    for (const auto& element : paragraph.get_array()) {
      if (!element.is_object()) continue;
      const auto& e = element.get_object();
      const std::string tag = string_at(e, "tag");
      if (tag == "text" || tag == "a" || tag == "md") {
        out += string_at(e, "text");
      } else if (tag == "at") {
        // Post mentions name the user directly; give them a key so stripping treats them alike.
        MentionKey key{"@_post_" + std::to_string(mentions.size()), string_at(e, "user_id"), "",
                       string_at(e, "user_name")};
        out += key.key;
        mentions.push_back(std::move(key));
      }
    }
  }
  return out;
}

}  // namespace

StrippedText strip_mentions(std::string_view text, const std::vector<MentionKey>& mentions,
                            const std::string& bot_open_id) {
  StrippedText out;
  std::vector<bool> is_bot_segment;  // parallel to out.segments: the bot's mentions
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) {
      out.segments.emplace_back(Text{pending});
      is_bot_segment.push_back(false);
    }
    pending.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const MentionKey* found = nullptr;
    if (text[pos] == '@') {
      // Longest key first: "@_user_10" must not be read as "@_user_1" followed by "0".
      for (const MentionKey& m : mentions) {
        if (!m.key.empty() && text.substr(pos).starts_with(m.key) &&
            (found == nullptr || m.key.size() > found->key.size())) {
          found = &m;
        }
      }
    }
    if (found == nullptr) {
      pending += text[pos];
      out.text += text[pos];
      ++pos;
      continue;
    }
    pos += found->key.size();
    // Only a mention of the bot's own open_id is the bot's. While that is unknown no mention is:
    // guessing from an empty user_id would take any user's mention for the bot's when the app
    // lacks the contact scope (users then have no user_id either), and strip it from the text.
    const bool is_bot = !bot_open_id.empty() && found->open_id == bot_open_id;
    flush();
    out.segments.emplace_back(Mention{found->open_id, found->name});
    is_bot_segment.push_back(is_bot);
    if (is_bot) {
      out.mentions_bot = true;
      if (pos < text.size() && text[pos] == ' ') ++pos;  // the space after the mention
    } else {
      out.text += "@" + (found->name.empty() ? found->open_id : found->name);
    }
  }
  flush();
  out.text = std::string(trim(out.text));
  // Trim the segments as the text was trimmed: only the whitespace before the first and after
  // the last piece that shows in the text (the bot's mentions do not), never the spaces between
  // a piece and a mention.
  for (std::size_t i = 0; i < out.segments.size(); ++i) {
    auto* t = std::get_if<Text>(&out.segments[i]);
    if (t == nullptr && !is_bot_segment[i]) break;
    if (t == nullptr) continue;
    t->text = std::string(trim_front(t->text));
    if (!t->text.empty()) break;
  }
  for (std::size_t i = out.segments.size(); i > 0; --i) {
    auto* t = std::get_if<Text>(&out.segments[i - 1]);
    if (t == nullptr && !is_bot_segment[i - 1]) break;
    if (t == nullptr) continue;
    t->text = std::string(trim_back(t->text));
    if (!t->text.empty()) break;
  }
  std::erase_if(out.segments, [](const Segment& s) {
    const auto* t = std::get_if<Text>(&s);
    return t != nullptr && t->text.empty();
  });
  return out;
}

Result<std::optional<Event>> message_event(const json::object& payload, const FeishuConfig& config,
                                          const BotIdentity* identity,
                                          json::storage_ptr storage) {
  const json::object* header = object_at(payload, "header");
  if (string_at(payload, "schema") != "2.0" || header == nullptr) {
    return Error{errc::malformed_payload, "not a schema 2.0 event"};
  }
  const std::string app_id = string_at(*header, "app_id");
  if (!app_id.empty() && app_id != config.app_id) {
    return std::nullopt;  // one URL or connection may serve several apps: not ours
  }
  if (string_at(*header, "event_type") != "im.message.receive_v1") {
    return std::nullopt;  // unknown events are acknowledged, not errors
  }
  const json::object* event_body = object_at(payload, "event");
  const json::object* message = event_body ? object_at(*event_body, "message") : nullptr;
  const json::object* sender = event_body ? object_at(*event_body, "sender") : nullptr;
  if (message == nullptr || sender == nullptr) {
    return Error{errc::malformed_payload, "im.message.receive_v1 without message or sender"};
  }

  Event event;
  event.platform = config.platform;
  event.bot = config.bot_name;
  event.platform_event_id = string_at(*header, "event_id");
  if (event.platform_event_id.empty()) return Error{errc::malformed_payload, "no header.event_id"};
  const std::string create_ms = string_at(*header, "create_time");
  if (!create_ms.empty() && create_ms.find_first_not_of("0123456789") == std::string::npos &&
      create_ms.size() < 19) {
    event.time = to_system_time(std::chrono::milliseconds(std::stoll(create_ms)))
                     .value_or(std::chrono::system_clock::now());
  } else {
    event.time = std::chrono::system_clock::now();
  }

  event.chat.id = string_at(*message, "chat_id");
  const std::string chat_type = string_at(*message, "chat_type");
  event.chat.type = chat_type == "p2p" ? ChatType::private_chat : ChatType::group;
  if (const auto* sender_id = object_at(*sender, "sender_id")) {
    event.sender.id = string_at(*sender_id, "open_id");
    if (event.sender.id.empty()) event.sender.id = string_at(*sender_id, "user_id");
  }
  const std::string bot_open_id = identity ? identity->open_id() : std::string();
  event.sender.is_bot = string_at(*sender, "sender_type") != "user" ||
                        (!bot_open_id.empty() && event.sender.id == bot_open_id);

  Message m;
  m.id = string_at(*message, "message_id");
  if (m.id.empty() || event.chat.id.empty()) {
    return Error{errc::malformed_payload, "message without message_id or chat_id"};
  }
  std::vector<MentionKey> mentions;
  if (const auto* list = message->if_contains("mentions"); list && list->is_array()) {
    for (const auto& item : list->get_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.get_object();
      MentionKey key{string_at(o, "key"), "", "", string_at(o, "name")};
      if (const auto* id = object_at(o, "id")) {
        key.open_id = string_at(*id, "open_id");
        key.user_id = string_at(*id, "user_id");
      }
      mentions.push_back(std::move(key));
    }
  }
  // `content` is a JSON document inside a JSON string.
  const std::string message_type = string_at(*message, "message_type");
  auto content = parse_object(string_at(*message, "content"), storage);
  std::string raw_text;
  if (content) {
    if (message_type == "text") {
      raw_text = string_at(*content, "text");
    } else if (message_type == "post") {
      raw_text = post_text(*content, mentions);
    } else if (message_type == "image") {
      m.segments.emplace_back(Image{"feishu:" + string_at(*content, "image_key")});
    }
  }
  if (!raw_text.empty()) {
    StrippedText stripped = strip_mentions(raw_text, mentions, bot_open_id);
    m.text = std::move(stripped.text);
    m.mentions_bot = stripped.mentions_bot;
    m.segments = std::move(stripped.segments);
  }
  if (event.chat.type == ChatType::private_chat) m.mentions_bot = true;  // p2p is for the bot
  event.message = std::move(m);
  return std::optional<Event>(std::move(event));
}

}  // namespace botgate::feishu
