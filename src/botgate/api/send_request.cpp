#include "botgate/api/send_request.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/crypto/image_data.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

namespace botgate::api {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 5> kContentFields = {"text", "markdown", "image_url",
                                                            "image_base64", "segments"};

/// A field's value read, or the error to answer.
template <class T>
using Checked = std::variant<T, FieldError>;

FieldError error(std::string field, std::string what) {
  return FieldError{std::move(field), std::move(what)};
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// An id the platform gave (a chat, a message, a user): a single line of printable text.
bool is_id_text(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

/// The string at `key` of `object`, which the caller knows is there.
Checked<std::string> string_field(const json::object& object, std::string_view key,
                                  const std::string& field) {
  const json::value& value = object.at(key);
  if (!value.is_string()) return error(field, "must be a string");
  return std::string(value.get_string());
}

Checked<std::string> id_field(const json::object& object, std::string_view key,
                              const std::string& field) {
  auto text = string_field(object, key, field);
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  const std::string& id = std::get<std::string>(text);
  if (id.empty()) return error(field, "empty");
  if (id.size() > kMaxSendIdBytes) {
    return error(field, "longer than " + std::to_string(kMaxSendIdBytes) + " bytes");
  }
  if (!is_id_text(id)) return error(field, "has control characters");
  return id;
}

/// Text or markdown: not empty (nor only blanks, when `blank_ok` is false), within the limit.
Checked<std::string> text_field(const json::object& object, std::string_view key,
                                const std::string& field, bool blank_ok) {
  auto text = string_field(object, key, field);
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  const std::string& value = std::get<std::string>(text);
  if (value.empty() || (!blank_ok && is_blank(value))) return error(field, "empty");
  if (value.size() > kMaxSendTextBytes) {
    return error(field, "longer than " + std::to_string(kMaxSendTextBytes) + " bytes");
  }
  return value;
}

Checked<Segment> image_from_url(const json::object& object, std::string_view key,
                                const std::string& field) {
  auto text = string_field(object, key, field);
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  const std::string& url = std::get<std::string>(text);
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return error(field, "not an http(s) URL");
  }
  if (url.size() > kMaxImageUrlBytes) {
    return error(field, "longer than " + std::to_string(kMaxImageUrlBytes) + " bytes");
  }
  if (url.find_first_of(" \t\r\n") != std::string::npos || !is_id_text(url)) {
    return error(field, "has spaces or control characters");
  }
  return Segment{Image{url}};
}

Checked<Segment> image_from_base64(const json::object& object, std::string_view key,
                                   const std::string& field) {
  auto text = string_field(object, key, field);
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  auto image = crypto::image_from_base64(std::get<std::string>(text));
  if (!image.problem.empty()) return error(field, image.problem);
  return Segment{Image{std::move(image.data_url)}};
}

/// The first key of `object` not in `allowed`, as an error at `prefix` + key.
std::optional<FieldError> unknown_key(const json::object& object,
                                      std::initializer_list<std::string_view> allowed,
                                      const std::string& prefix) {
  for (const auto& member : object) {
    const std::string_view key = member.key();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return error(prefix + std::string(key), "unknown field");
    }
  }
  return std::nullopt;
}

Checked<Segment> parse_segment(const json::value& value, const std::string& at) {
  if (!value.is_object()) return error(at, "must be an object");
  const json::object& object = value.get_object();
  if (!object.contains("type")) return error(at + ".type", "required");
  const json::value& type_value = object.at("type");
  if (!type_value.is_string()) return error(at + ".type", "must be a string");
  const std::string_view type = type_value.get_string();
  const std::string prefix = at + ".";
  auto only = [&](std::initializer_list<std::string_view> keys) {
    return unknown_key(object, keys, prefix);
  };
  auto required = [&](std::string_view key) -> std::optional<FieldError> {
    if (object.contains(key)) return std::nullopt;
    return error(prefix + std::string(key), "required");
  };
  auto to_segment = [](auto checked, auto make) -> Checked<Segment> {
    if (auto* failed = std::get_if<FieldError>(&checked)) return *failed;
    return make(std::move(std::get<0>(checked)));
  };
  if (type == "text" || type == "markdown") {
    if (auto bad = only({"type", type})) return *bad;
    if (auto missing = required(type)) return *missing;
    auto text = text_field(object, type, prefix + std::string(type), true);
    if (type == "text") {
      return to_segment(std::move(text), [](std::string t) { return Segment{Text{std::move(t)}}; });
    }
    return to_segment(std::move(text),
                      [](std::string t) { return Segment{Markdown{std::move(t)}}; });
  }
  if (type == "image") {
    if (auto bad = only({"type", "url", "base64"})) return *bad;
    const bool url = object.contains("url");
    const bool base64 = object.contains("base64");
    if (url == base64) return error(prefix + "url", "give url or base64, one of them");
    return url ? image_from_url(object, "url", prefix + "url")
               : image_from_base64(object, "base64", prefix + "base64");
  }
  if (type == "mention") {
    if (auto bad = only({"type", "user_id", "name"})) return *bad;
    if (auto missing = required("user_id")) return *missing;
    auto user = id_field(object, "user_id", prefix + "user_id");
    if (auto* failed = std::get_if<FieldError>(&user)) return *failed;
    Mention mention{std::move(std::get<std::string>(user)), ""};
    if (object.contains("name")) {
      auto name = id_field(object, "name", prefix + "name");
      if (auto* failed = std::get_if<FieldError>(&name)) return *failed;
      mention.name = std::move(std::get<std::string>(name));
    }
    return Segment{std::move(mention)};
  }
  return error(at + ".type", "must be text, markdown, image or mention");
}

Checked<std::vector<Segment>> parse_segments(const json::value& value) {
  if (!value.is_array()) return error("segments", "must be an array");
  const json::array& array = value.get_array();
  if (array.empty()) return error("segments", "empty");
  if (array.size() > kMaxSendSegments) {
    return error("segments", "more than " + std::to_string(kMaxSendSegments) + " segments");
  }
  std::vector<Segment> segments;
  segments.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto segment = parse_segment(array[i], "segments[" + std::to_string(i) + "]");
    if (auto* failed = std::get_if<FieldError>(&segment)) return *failed;
    segments.push_back(std::move(std::get<Segment>(segment)));
  }
  return segments;
}

/// The one content field of the body as segments.
Checked<std::vector<Segment>> parse_content(const json::object& body) {
  std::optional<std::string_view> given;
  for (std::string_view field : kContentFields) {
    if (!body.contains(field)) continue;
    if (given) {
      return error(std::string(field), "give one of text, markdown, image_url, image_base64 "
                                       "or segments, not " + std::string(*given) + " as well");
    }
    given = field;
  }
  if (!given) {
    return error("text", "required: one of text, markdown, image_url, image_base64 or segments");
  }
  const std::string field(*given);
  auto one = [](Checked<Segment> segment) -> Checked<std::vector<Segment>> {
    if (auto* failed = std::get_if<FieldError>(&segment)) return *failed;
    return std::vector<Segment>{std::move(std::get<Segment>(segment))};
  };
  if (field == "text" || field == "markdown") {
    auto text = text_field(body, field, field, false);
    if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
    std::string value = std::move(std::get<std::string>(text));
    return one(field == "text" ? Segment{Text{std::move(value)}}
                               : Segment{Markdown{std::move(value)}});
  }
  if (field == "image_url") return one(image_from_url(body, field, field));
  if (field == "image_base64") return one(image_from_base64(body, field, field));
  return parse_segments(body.at("segments"));
}

/// A piece of a stream's text: may be empty (a stream may open before its first word), at most
/// kMaxSendTextBytes in one call.
Checked<std::string> stream_text_field(const json::object& object, std::string_view key) {
  const std::string field(key);
  auto text = string_field(object, key, field);
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  if (std::get<std::string>(text).size() > kMaxSendTextBytes) {
    return error(field, "longer than " + std::to_string(kMaxSendTextBytes) + " bytes");
  }
  return text;
}

/// The content of a streamed message: the text or markdown it starts with (empty when neither
/// is given).
Checked<std::vector<Segment>> parse_stream_content(const json::object& body) {
  for (const char* other : {"image_url", "image_base64", "segments"}) {
    if (body.contains(other)) return error(other, "not in a streamed message, which is text or markdown");
  }
  if (body.contains("text") && body.contains("markdown")) {
    return error("markdown", "give one of text and markdown, not both");
  }
  const bool markdown = body.contains("markdown");
  std::string start;
  if (markdown || body.contains("text")) {
    auto text = stream_text_field(body, markdown ? "markdown" : "text");
    if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
    start = std::move(std::get<std::string>(text));
  }
  std::vector<Segment> segments;
  if (markdown) {
    segments.emplace_back(Markdown{std::move(start)});
  } else {
    segments.emplace_back(Text{std::move(start)});
  }
  return segments;
}

}  // namespace

std::variant<StreamChange, FieldError> parse_stream_change(std::string_view body_text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(body_text, ec);
  if (ec) return error("body", "not JSON (" + ec.message() + ")");
  if (!parsed.is_object()) return error("body", "must be a JSON object");
  const json::object& body = parsed.get_object();
  if (auto bad = unknown_key(body, {"append", "text", "finish"}, "")) return *bad;
  if (body.contains("append") && body.contains("text")) {
    return error("text", "give one of append and text, not both");
  }
  StreamChange change;
  if (body.contains("finish")) {
    const json::value& finish = body.at("finish");
    if (!finish.is_bool()) return error("finish", "must be true or false");
    change.finish = finish.get_bool();
  }
  const bool replace = body.contains("text");
  if (!replace && !body.contains("append")) {
    if (!change.finish) return error("append", "required: one of append, text or finish: true");
    return change;
  }
  auto text = stream_text_field(body, replace ? "text" : "append");
  if (auto* failed = std::get_if<FieldError>(&text)) return *failed;
  change.kind = replace ? StreamChange::replace : StreamChange::append;
  change.text = std::move(std::get<std::string>(text));
  return change;
}

std::variant<SendRequest, FieldError> parse_send_request(std::string_view body_text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(body_text, ec);
  if (ec) return error("body", "not JSON (" + ec.message() + ")");
  if (!parsed.is_object()) return error("body", "must be a JSON object");
  const json::object& body = parsed.get_object();
  if (auto bad = unknown_key(body, {"bot", "chat_id", "chat_type", "text", "markdown",
                                    "image_url", "image_base64", "segments", "reply_to",
                                    "reply_to_event", "idempotency_key", "stream"},
                             "")) {
    return *bad;
  }

  SendRequest request;
  OutgoingMessage& message = request.message;
  if (!body.contains("bot")) return error("bot", "required");
  auto bot = id_field(body, "bot", "bot");
  if (auto* failed = std::get_if<FieldError>(&bot)) return *failed;
  message.bot = std::move(std::get<std::string>(bot));

  if (body.contains("reply_to_event")) {
    for (const char* addressing : {"chat_id", "chat_type", "reply_to"}) {
      if (body.contains(addressing)) {
        return error(addressing, "not with reply_to_event, which says where the answer goes");
      }
    }
    auto event = id_field(body, "reply_to_event", "reply_to_event");
    if (auto* failed = std::get_if<FieldError>(&event)) return *failed;
    request.reply_to_event = std::move(std::get<std::string>(event));
  } else {
    if (!body.contains("chat_id")) return error("chat_id", "required");
    auto chat = id_field(body, "chat_id", "chat_id");
    if (auto* failed = std::get_if<FieldError>(&chat)) return *failed;
    message.chat_id = std::move(std::get<std::string>(chat));
  }

  // A group unless said otherwise, as `botgate send` does; only QQ tells the kinds apart (a
  // group's openid, a user's, a guild channel), the others address any chat by its id.
  message.chat_type = ChatType::group;
  if (body.contains("chat_type")) {
    auto type = string_field(body, "chat_type", "chat_type");
    if (auto* failed = std::get_if<FieldError>(&type)) return *failed;
    const auto chat_type = chat_type_from_string(std::get<std::string>(type));
    if (!chat_type) return error("chat_type", "must be private, group or channel");
    message.chat_type = *chat_type;
  }

  if (body.contains("stream")) {
    const json::value& stream = body.at("stream");
    if (!stream.is_bool()) return error("stream", "must be true or false");
    message.stream = stream.get_bool();
  }
  auto segments = message.stream ? parse_stream_content(body) : parse_content(body);
  if (auto* failed = std::get_if<FieldError>(&segments)) return *failed;
  message.segments = std::move(std::get<std::vector<Segment>>(segments));

  if (body.contains("reply_to")) {
    auto reply_to = id_field(body, "reply_to", "reply_to");
    if (auto* failed = std::get_if<FieldError>(&reply_to)) return *failed;
    message.reply_to = std::move(std::get<std::string>(reply_to));
  }

  if (body.contains("idempotency_key")) {
    auto key = string_field(body, "idempotency_key", "idempotency_key");
    if (auto* failed = std::get_if<FieldError>(&key)) return *failed;
    std::string& value = std::get<std::string>(key);
    const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e;
    });
    if (value.empty() || value.size() > kMaxIdempotencyKeyBytes || !printable) {
      return error("idempotency_key",
                   "must be 1-" + std::to_string(kMaxIdempotencyKeyBytes) +
                       " printable ASCII characters");
    }
    message.idempotency_key = platform_idempotency_key(message.bot, value);
    request.client_key = std::move(value);
  }
  return request;
}

std::string platform_idempotency_key(std::string_view bot, std::string_view client_key) {
  const std::string digest = crypto::sha256_of({"botgate send api\n", bot, "\n", client_key});
  return kSendKeyMark + crypto::to_hex(digest).substr(0, 31);
}

}  // namespace botgate::api
