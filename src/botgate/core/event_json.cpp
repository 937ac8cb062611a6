#include "botgate/core/event_json.hpp"

#include "botgate/core/json_fields.hpp"
#include "botgate/core/utf8.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cstdio>

namespace botgate {
namespace json = boost::json;
namespace {

/// `text` as valid UTF-8 (see append_string): json::serialize copies bytes unchecked.
std::string valid(const std::string& text) {
  return is_valid_utf8(text) ? text : to_valid_utf8(text);
}

json::array segments_to_json(const std::vector<Segment>& segments) {
  json::array out;
  out.reserve(segments.size());
  for (const Segment& segment : segments) {
    json::object o;
    std::visit(
        [&o](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, Text>) {
            o["type"] = "text";
            o["text"] = valid(s.text);
          } else if constexpr (std::is_same_v<T, Mention>) {
            o["type"] = "mention";
            o["user_id"] = valid(s.user_id);
            o["name"] = valid(s.name);
          } else if constexpr (std::is_same_v<T, Image>) {
            o["type"] = "image";
            o["url"] = valid(s.url);
          } else if constexpr (std::is_same_v<T, Markdown>) {
            o["type"] = "markdown";
            o["markdown"] = valid(s.markdown);
          } else {
            o["type"] = "link";
            o["text"] = valid(s.text);
            o["url"] = valid(s.url);
          }
        },
        segment);
    out.emplace_back(std::move(o));
  }
  return out;
}

Result<std::vector<Segment>> segments_from_json(const json::value* value) {
  std::vector<Segment> out;
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_array()) return Error{errc::malformed_payload, "segments is not an array"};
  for (const json::value& item : value->get_array()) {
    if (!item.is_object()) return Error{errc::malformed_payload, "a segment is not an object"};
    const json::object& o = item.get_object();
    const std::string type = string_at(o, "type");
    if (type == "text") {
      out.emplace_back(Text{string_at(o, "text")});
    } else if (type == "mention") {
      out.emplace_back(Mention{string_at(o, "user_id"), string_at(o, "name")});
    } else if (type == "image") {
      out.emplace_back(Image{string_at(o, "url")});
    } else if (type == "markdown") {
      out.emplace_back(Markdown{string_at(o, "markdown")});
    } else if (type == "link") {
      out.emplace_back(Link{string_at(o, "text"), string_at(o, "url")});
    } else {
      return Error{errc::malformed_payload, "unknown segment type '" + type + "'"};
    }
  }
  return out;
}

/// `text` (a stored event or message) as a JSON object, or malformed_payload.
Result<json::object> stored_object(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed) return Error{errc::malformed_payload, "not a JSON object"};
  return std::move(*parsed);
}

// Howard Hinnant's civil-from-days / days-from-civil, so times need no locale or time zone.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::string format_time(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(time.time_since_epoch()).count();
  std::int64_t days = ms_total / 86'400'000;
  std::int64_t rem = ms_total % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[40];
  const int ms = static_cast<int>(rem % 1000);
  const int sec = static_cast<int>(rem / 1000);
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<long long>(y), m, d, sec / 3600, sec / 60 % 60, sec % 60, ms);
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y),
                  m, d, sec / 3600, sec / 60 % 60, sec % 60);
  }
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  auto num = [&text](std::size_t pos, std::size_t len, auto& out) {
    const char* first = text.data() + pos;
    auto [ptr, ec] = std::from_chars(first, first + len, out);
    return ec == std::errc{} && ptr == first + len;
  };
  if (!num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' || !num(8, 2, d) ||
      text[10] != 'T' || !num(11, 2, h) || text[13] != ':' || !num(14, 2, mi) ||
      text[16] != ':' || !num(17, 2, s)) {
    return std::nullopt;
  }
  if (text.size() == 24 && text[19] == '.') {
    if (!num(20, 3, ms)) return std::nullopt;
  } else if (text.size() != 20) {
    return std::nullopt;
  }
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  using namespace std::chrono;
  const std::int64_t days = days_from_civil(y, mo, d);
  const auto total = milliseconds(((days * 24 + h) * 60 + mi) * 60'000 + s * 1000 + ms);
  return to_system_time(total);
}

namespace {

/// `text` as a JSON string, quoted and escaped. The event's strings come from a JSON parser or
/// from XML that parse_xml repaired, so they are valid UTF-8; one that is not anyway is repaired
/// here (U+FFFD), as the parser that reads the row back rejects invalid UTF-8 and the event
/// would be lost.
void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = to_valid_utf8(text);
    text = repaired;
  }
  out += '"';
  // Characters that need no escape are copied a run at a time: one at a time was ~3% of a
  // Feishu callback's CPU (the inbox row of every accept is written with this).
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char escaped[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
        out.append(escaped, sizeof escaped);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

/// ,"key":"value" (or without the comma for the first member).
void append_member(std::string& out, std::string_view key, std::string_view value,
                   bool first = false) {
  if (!first) out += ',';
  append_string(out, key);
  out += ':';
  append_string(out, value);
}

}  // namespace

// Written straight into the text rather than through a JSON DOM: one event is written per
// accepted callback (the inbox row), and building the DOM cost as much again as the text.
std::string to_json(const Event& event) {
  std::size_t size = 320 + event.id.size() + event.platform_event_id.size() +
                     event.chat.id.size() + event.sender.id.size() + event.sender.name.size() +
                     event.reply_context.size();
  if (event.message) size += event.message->id.size() + 2 * event.message->text.size();
  std::string out;
  out.reserve(size);
  out += '{';
  append_member(out, "id", event.id, true);
  append_member(out, "platform", event.platform);
  append_member(out, "bot", event.bot);
  append_member(out, "platform_event_id", event.platform_event_id);
  append_member(out, "time", format_time(event.time));
  out += R"(,"chat":{)";
  append_member(out, "id", event.chat.id, true);
  append_member(out, "type", to_string(event.chat.type));
  out += R"(,"guild_id":)";
  if (event.chat.guild_id) {
    append_string(out, *event.chat.guild_id);
  } else {
    out += "null";
  }
  out += R"(},"sender":{)";
  append_member(out, "id", event.sender.id, true);
  append_member(out, "name", event.sender.name);
  out += event.sender.is_bot ? R"(,"is_bot":true})" : R"(,"is_bot":false})";
  out += R"(,"message":)";
  if (event.message) {
    out += '{';
    append_member(out, "id", event.message->id, true);
    append_member(out, "text", event.message->text);
    out += event.message->mentions_bot ? R"(,"mentions_bot":true)" : R"(,"mentions_bot":false)";
    out += R"(,"segments":)";
    out += json::serialize(segments_to_json(event.message->segments));
    out += '}';
  } else {
    out += "null";
  }
  if (!event.reply_context.empty()) append_member(out, "reply_context", event.reply_context);
  out += '}';
  return out;
}

Result<Event> event_from_json(std::string_view text) {
  auto parsed = stored_object(text);
  if (!parsed) return parsed.error();
  const json::object& o = *parsed;
  Event event;
  event.id = string_at(o, "id");
  event.platform = string_at(o, "platform");
  event.bot = string_at(o, "bot");
  event.platform_event_id = string_at(o, "platform_event_id");
  if (auto t = parse_time(string_at(o, "time"))) event.time = *t;
  if (const auto* chat = object_at(o, "chat")) {
    event.chat.id = string_at(*chat, "id");
    event.chat.type = chat_type_from_string(string_at(*chat, "type")).value_or(ChatType::private_chat);
    if (const auto* g = chat->if_contains("guild_id"); g && g->is_string()) {
      event.chat.guild_id = std::string(g->get_string());
    }
  }
  if (const auto* sender = object_at(o, "sender")) {
    event.sender.id = string_at(*sender, "id");
    event.sender.name = string_at(*sender, "name");
    event.sender.is_bot = bool_at(*sender, "is_bot");
  }
  if (const auto* message = object_at(o, "message")) {
    Message m;
    m.id = string_at(*message, "id");
    m.text = string_at(*message, "text");
    m.mentions_bot = bool_at(*message, "mentions_bot");
    auto segments = segments_from_json(message->if_contains("segments"));
    if (!segments) return segments.error();
    m.segments = std::move(*segments);
    event.message = std::move(m);
  }
  event.reply_context = string_at(o, "reply_context");
  return event;
}

std::string to_json(const OutgoingMessage& message) {
  json::object o{{"bot", message.bot},
                 {"chat_id", message.chat_id},
                 {"chat_type", to_string(message.chat_type)},
                 {"reply_to", message.reply_to},
                 {"reply_to_user", message.reply_to_user},
                 {"reply_context", message.reply_context},
                 {"segments", segments_to_json(message.segments)},
                 {"idempotency_key", message.idempotency_key}};
  if (message.recall) {
    o["recall"] = json::object{{"message", message.recall->message},
                               {"platform_message_id", message.recall->platform_message_id}};
  }
  if (message.stream) o["stream"] = true;
  return json::serialize(o);
}

Result<OutgoingMessage> outgoing_from_json(std::string_view text) {
  auto parsed = stored_object(text);
  if (!parsed) return parsed.error();
  const json::object& o = *parsed;
  OutgoingMessage m;
  m.bot = string_at(o, "bot");
  m.chat_id = string_at(o, "chat_id");
  m.chat_type = chat_type_from_string(string_at(o, "chat_type")).value_or(ChatType::private_chat);
  m.reply_to = string_at(o, "reply_to");
  m.reply_to_user = string_at(o, "reply_to_user");
  m.reply_context = string_at(o, "reply_context");
  auto segments = segments_from_json(o.if_contains("segments"));
  if (!segments) return segments.error();
  m.segments = std::move(*segments);
  m.idempotency_key = string_at(o, "idempotency_key");
  if (const auto* recall = o.if_contains("recall"); recall && recall->is_object()) {
    const json::object& r = recall->get_object();
    m.recall = Recall{int_at(r, "message").value_or(0), string_at(r, "platform_message_id")};
  }
  m.stream = bool_at(o, "stream");
  return m;
}

}  // namespace botgate
