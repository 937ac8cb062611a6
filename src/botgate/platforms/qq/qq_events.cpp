#include "botgate/platforms/qq/qq_events.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/array.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

namespace botgate::qq {
namespace json = boost::json;
using platforms::array_at;
using platforms::bool_at;
using platforms::object_at;
using platforms::string_at;

namespace {

// QQ notes 5.2 / pitfall 10: clients sometimes leave a non-breaking space (U+00A0, UTF-8 C2 A0)
// where the bot's mention was removed, so it counts as whitespace when trimming.
constexpr std::string_view kNbsp = "\xC2\xA0";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_front(std::string_view s) {
  for (;;) {
    if (!s.empty() && is_space(s.front())) {
      s.remove_prefix(1);
    } else if (s.starts_with(kNbsp)) {
      s.remove_prefix(kNbsp.size());
    } else {
      return s;
    }
  }
}

std::string_view trim_back(std::string_view s) {
  for (;;) {
    if (!s.empty() && is_space(s.back())) {
      s.remove_suffix(1);
    } else if (s.ends_with(kNbsp)) {
      s.remove_suffix(kNbsp.size());
    } else {
      return s;
    }
  }
}

std::string_view trim(std::string_view s) { return trim_back(trim_front(s)); }

/// Notes 5.3: guild text arrives entity-escaped (`&lt; &gt; &amp;`, one level). The character
/// an entity at the start of `s` stands for, and the entity's length.
std::optional<std::pair<char, std::size_t>> entity_at(std::string_view s) {
  if (s.starts_with("&lt;")) {
    return std::pair{'<', std::size_t{4}};
  }
  if (s.starts_with("&gt;")) {
    return std::pair{'>', std::size_t{4}};
  }
  if (s.starts_with("&amp;")) {
    return std::pair{'&', std::size_t{5}};
  }
  return std::nullopt;
}

/// The user id of a `<@ID>` or `<@!ID>` token at the start of `s`, and the token's length. QQ ids
/// in these tokens are numeric guild user ids, but openids (hex) have been seen in group text, so
/// any run of letters and digits is accepted.
std::optional<std::pair<std::string_view, std::size_t>> user_mention_at(std::string_view s) {
  if (!s.starts_with("<@")) {
    return std::nullopt;
  }
  std::size_t pos = 2;
  if (pos < s.size() && s[pos] == '!') {
    ++pos;
  }
  const std::size_t first = pos;
  auto is_id_char = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c == '-';
  };
  while (pos < s.size() && is_id_char(s[pos])) {
    ++pos;
  }
  if (pos == first || pos >= s.size() || s[pos] != '>') {
    return std::nullopt;
  }
  return std::pair{s.substr(first, pos - first), pos + 1};
}

struct MessageText {
  std::string text;
  std::vector<Segment> segments;
  bool mentions_bot = false;
};

/// The bot's own `<@ID>`/`<@!ID>` is removed and the text trimmed (QQ notes 5.2, 5.3); other
/// mentions read "@name" in the text. Every mention becomes a Mention segment. With
/// `strip_leading_mention` (AT_MESSAGE_CREATE while the bot's id is unknown), a mention at the very
/// start is taken to be the bot's: that event is only sent when the bot is @-mentioned. With
/// `unescape` (guild text), entities are decoded after the mentions are found, so that a user who
/// typed a literal "<@!1>" (delivered as "&lt;@!1&gt;") does not mention anyone.
MessageText split_mentions(std::string_view content, const json::object& message,
                           const std::string& bot_id, bool strip_leading_mention, bool unescape) {
  auto name_of = [&](std::string_view id) {
    if (const json::array* mentions = array_at(message, "mentions")) {
      for (const json::value& m : *mentions) {
        if (m.is_object() && string_at(m.get_object(), "id") == id) {
          return string_at(m.get_object(), "username");
        }
      }
    }
    return std::string();
  };
  MessageText out;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) {
      out.segments.emplace_back(Text{std::move(pending)});
    }
    pending.clear();
  };
  std::vector<std::size_t> bot_mentions;  // indexes into out.segments
  const std::size_t leading = content.size() - trim_front(content).size();
  std::size_t pos = 0;
  while (pos < content.size()) {
    const auto mention = content[pos] == '<' ? user_mention_at(content.substr(pos)) : std::nullopt;
    const auto entity =
        unescape && content[pos] == '&' ? entity_at(content.substr(pos)) : std::nullopt;
    if (entity) {
      pending += entity->first;
      out.text += entity->first;
      pos += entity->second;
      continue;
    }
    if (!mention) {
      pending += content[pos];
      out.text += content[pos];
      ++pos;
      continue;
    }
    const bool at_start = pos == leading;
    const std::string id(mention->first);
    pos += mention->second;
    const std::string name = name_of(id);
    flush();
    const bool is_bot = (!bot_id.empty() && id == bot_id) || (strip_leading_mention && at_start);
    if (is_bot) {
      bot_mentions.push_back(out.segments.size());
    }
    out.segments.emplace_back(Mention{id, name});
    if (is_bot) {
      out.mentions_bot = true;
      if (pos < content.size() && content[pos] == ' ') {
        ++pos;
      }
    } else {
      out.text += "@" + (name.empty() ? id : name);
    }
  }
  flush();
  out.text = std::string(trim(out.text));
  // Trim the text pieces as the text was trimmed: the whitespace before the first and after the
  // last piece that shows in the text (the bot's mentions do not).
  auto is_bot_mention = [&](std::size_t index) {
    for (std::size_t b : bot_mentions) {
      if (b == index) {
        return true;
      }
    }
    return false;
  };
  for (std::size_t i = 0; i < out.segments.size(); ++i) {
    if (auto* t = std::get_if<Text>(&out.segments[i])) {
      t->text = std::string(trim_front(t->text));
      if (!t->text.empty()) {
        break;
      }
    } else if (!is_bot_mention(i)) {
      break;
    }
  }
  for (std::size_t i = out.segments.size(); i-- > 0;) {
    if (auto* t = std::get_if<Text>(&out.segments[i])) {
      t->text = std::string(trim_back(t->text));
      if (!t->text.empty()) {
        break;
      }
    } else if (!is_bot_mention(i)) {
      break;
    }
  }
  std::erase_if(out.segments, [](const Segment& s) {
    const auto* t = std::get_if<Text>(&s);
    return t != nullptr && t->text.empty();
  });
  return out;
}

/// `2023-11-06T13:37:18+08:00` (RFC 3339: `Z` or `±hh:mm`, optional fraction) as a time point.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  auto num = [&text](std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) {
      return false;
    }
    const char* first = text.data() + pos;
    auto [ptr, ec] = std::from_chars(first, first + len, out);
    return ec == std::errc{} && ptr == first + len;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || !num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' ||
      !num(8, 2, d) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !num(11, 2, h) || text[13] != ':' || !num(14, 2, mi) || text[16] != ':' ||
      !num(17, 2, s)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  std::size_t pos = 19;
  milliseconds fraction{0};
  if (text[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t first = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += milliseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == first) {
      return std::nullopt;
    }
  }
  minutes offset{0};
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0, om = 0;
    if (!num(pos + 1, 2, oh) || !num(pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = minutes(oh * 60 + om);
    if (zone[0] == '-') {
      offset = -offset;
    }
  } else {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(s) + fraction;
  return to_system_time((local - offset).time_since_epoch());
}

std::chrono::system_clock::time_point event_time(const json::object& d) {
  const auto* v = d.if_contains("timestamp");
  if (v != nullptr && v->is_string()) {
    if (auto t = parse_rfc3339(v->get_string())) {
      return *t;
    }
  }
  return {};
}

std::optional<QqChatKind> kind_of(std::string_view type) {
  if (type == "AT_MESSAGE_CREATE" || type == "MESSAGE_CREATE") {
    return QqChatKind::channel;
  }
  if (type == "DIRECT_MESSAGE_CREATE") {
    return QqChatKind::dms;
  }
  if (type == "GROUP_AT_MESSAGE_CREATE") {
    return QqChatKind::group;
  }
  if (type == "C2C_MESSAGE_CREATE") {
    return QqChatKind::c2c;
  }
  return std::nullopt;
}

/// Notes 5.3: guild attachment urls often come without a scheme (satori prefixes https://).
std::string attachment_url(std::string url) {
  if (url.starts_with("//")) {
    return "https:" + url;
  }
  if (!url.empty() && url.find("://") == std::string::npos) {
    return "https://" + url;
  }
  return url;
}

}  // namespace

const char* to_string(QqChatKind kind) noexcept {
  switch (kind) {
    case QqChatKind::channel:
      return "channel";
    case QqChatKind::dms:
      return "dms";
    case QqChatKind::group:
      return "group";
    case QqChatKind::c2c:
      return "c2c";
  }
  return "channel";
}

std::optional<QqChatKind> qq_chat_kind_from_string(std::string_view name) noexcept {
  if (name == "channel") {
    return QqChatKind::channel;
  }
  if (name == "dms") {
    return QqChatKind::dms;
  }
  if (name == "group") {
    return QqChatKind::group;
  }
  if (name == "c2c") {
    return QqChatKind::c2c;
  }
  return std::nullopt;
}

std::optional<Event> qq_event_from_dispatch(std::string_view type, const json::object& d,
                                            std::string_view event_id,
                                            const std::string& bot_name,
                                            const std::string& bot_user_id) {
  const auto kind = kind_of(type);
  if (!kind) {
    return std::nullopt;
  }
  const auto* author = object_at(d, "author");
  std::string message_id = string_at(d, "id");
  if (author == nullptr || message_id.empty()) {
    return std::nullopt;
  }

  Event event;
  event.platform = "qq";
  event.bot = bot_name;
  event.platform_event_id = event_id.empty() ? message_id : std::string(event_id);
  event.time = event_time(d);
  event.reply_context = to_string(*kind);
  const std::string author_id = string_at(*author, "id");
  switch (*kind) {
    case QqChatKind::channel:
      // Notes 5.3: a guild Message object; replies go to /channels/{channel_id}/messages.
      event.chat.type = ChatType::channel;
      event.chat.id = string_at(d, "channel_id");
      if (std::string guild = string_at(d, "guild_id"); !guild.empty()) {
        event.chat.guild_id = std::move(guild);
      }
      event.sender.id = author_id;
      break;
    case QqChatKind::dms:
      // Notes 5.4, 6.1: `guild_id` is the DM's own "guild", which /dms/{guild_id}/messages needs.
      event.chat.type = ChatType::private_chat;
      event.chat.id = string_at(d, "guild_id");
      event.sender.id = author_id;
      break;
    case QqChatKind::group:
      // Notes 5.2: group_openid (also group_id); the sender is the per-group member_openid.
      event.chat.type = ChatType::group;
      event.chat.id = string_at(d, "group_openid");
      if (event.chat.id.empty()) {
        event.chat.id = string_at(d, "group_id");
      }
      event.sender.id = string_at(*author, "member_openid");
      break;
    case QqChatKind::c2c:
      // Notes 5.1: the chat is the user: /v2/users/{user_openid}/messages.
      event.chat.type = ChatType::private_chat;
      event.sender.id = string_at(*author, "user_openid");
      if (event.sender.id.empty()) {
        event.sender.id = author_id;
      }
      event.chat.id = event.sender.id;
      break;
  }
  if (event.sender.id.empty()) {
    event.sender.id = author_id;
  }
  if (event.chat.id.empty()) {
    return std::nullopt;
  }
  event.sender.name = string_at(*author, "username");
  event.sender.is_bot =
      bool_at(*author, "bot") || (!bot_user_id.empty() && event.sender.id == bot_user_id);

  const bool guild_text = *kind == QqChatKind::channel || *kind == QqChatKind::dms;
  MessageText text =
      split_mentions(string_at(d, "content"), d, bot_user_id,
                     type == "AT_MESSAGE_CREATE" && bot_user_id.empty(), guild_text);
  Message message;
  message.id = std::move(message_id);
  message.text = std::move(text.text);
  message.segments = std::move(text.segments);
  // Every kind but MESSAGE_CREATE (all channel messages, private bots) is only sent when the
  // message is addressed to the bot: an @, a group @, a DM or a single chat.
  message.mentions_bot = text.mentions_bot || type != "MESSAGE_CREATE";
  if (!bot_user_id.empty()) {
    if (const json::array* mentions = array_at(d, "mentions")) {
      for (const json::value& m : *mentions) {
        if (m.is_object() && string_at(m.get_object(), "id") == bot_user_id) {
          message.mentions_bot = true;
        }
      }
    }
  }
  if (const json::array* attachments = array_at(d, "attachments")) {
    for (const json::value& a : *attachments) {
      if (a.is_object() && string_at(a.get_object(), "content_type").starts_with("image/")) {
        message.segments.emplace_back(Image{attachment_url(string_at(a.get_object(), "url"))});
      }
    }
  }
  event.message = std::move(message);
  return event;
}

}  // namespace botgate::qq
