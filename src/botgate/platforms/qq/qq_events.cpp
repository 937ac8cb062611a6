#include "botgate/platforms/qq/qq_events.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/mention_text.hpp"

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
  // Notes 5.2, 5.3 and pitfall 10: openids in group text, U+00A0 left where the bot's mention
  // was, guild text entity-escaped; AT_MESSAGE_CREATE is only sent when the bot is @-mentioned.
  platforms::MentionSyntax syntax;
  syntax.alphanumeric_ids = true;
  syntax.nbsp_is_space = true;
  syntax.unescape_entities = guild_text;
  syntax.leading_mention_is_bot = type == "AT_MESSAGE_CREATE" && bot_user_id.empty();
  platforms::MentionText text =
      platforms::split_mentions(string_at(d, "content"), d, bot_user_id, syntax);
  Message message;
  message.id = std::move(message_id);
  message.text = std::move(text.text);
  message.segments = std::move(text.segments);
  // Every kind but MESSAGE_CREATE (all channel messages, private bots) is only sent when the
  // message is addressed to the bot: an @, a group @, a DM or a single chat.
  message.mentions_bot = text.mentions_bot || type != "MESSAGE_CREATE";
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
