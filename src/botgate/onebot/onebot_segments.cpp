#include "botgate/onebot/onebot_segments.hpp"

#include "botgate/core/store.hpp"
#include "botgate/crypto/image_data.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace botgate::onebot {

namespace json = boost::json;

std::string ObSegment::get(std::string_view key) const {
  for (const auto& [k, v] : data) {
    if (k == key) return v;
  }
  return {};
}

std::string cq_escape(std::string_view text, bool in_param) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '[': out += "&#91;"; break;
      case ']': out += "&#93;"; break;
      case ',':
        if (in_param) {
          out += "&#44;";
        } else {
          out += c;
        }
        break;
      default: out += c;
    }
  }
  return out;
}

std::string cq_unescape(std::string_view text) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&#91;", '['}, {"&#93;", ']'}, {"&#44;", ','}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (text.substr(i).starts_with(entity)) {
          out += c;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

namespace {

bool is_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/// The code between "[CQ:" and "]" ("type,k=v,..."), or nullopt when it is not well formed.
std::optional<ObSegment> parse_code(std::string_view body) {
  std::vector<std::string_view> parts;
  for (std::size_t from = 0;;) {
    const auto end = body.find(',', from);
    parts.push_back(body.substr(from, end == std::string_view::npos ? end : end - from));
    if (end == std::string_view::npos) break;
    from = end + 1;
  }
  const auto type = parts.front();
  if (type.empty()) return std::nullopt;
  for (char c : type) {
    if (!is_type_char(c)) return std::nullopt;
  }
  ObSegment segment{std::string(type), {}};
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    segment.data.emplace_back(cq_unescape(parts[i].substr(0, eq)),
                              cq_unescape(parts[i].substr(eq + 1)));
  }
  return segment;
}

void append_text(std::vector<ObSegment>& out, std::string text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().type == "text") {
    out.back().data[0].second += text;
  } else {
    out.push_back(ObSegment{"text", {{"text", std::move(text)}}});
  }
}

void add_text(std::vector<ObSegment>& out, std::string_view raw) {
  append_text(out, cq_unescape(raw));
}

std::string as_text(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (v.is_null()) return {};
  return json::serialize(v);
}

}  // namespace

std::vector<ObSegment> parse_cq(std::string_view message) {
  std::vector<ObSegment> out;
  std::size_t text_from = 0;
  std::size_t at = 0;
  while ((at = message.find("[CQ:", at)) != std::string_view::npos) {
    const auto close = message.find(']', at);
    if (close == std::string_view::npos) break;
    // A code holds no "[": one that does is text up to its second "[".
    const auto body = message.substr(at + 4, close - at - 4);
    std::optional<ObSegment> code;
    if (body.find('[') == std::string_view::npos) code = parse_code(body);
    if (!code) {
      ++at;
      continue;
    }
    add_text(out, message.substr(text_from, at - text_from));
    if (code->type == "text") {
      append_text(out, code->get("text"));  // "[CQ:text,text=...]" is text too
    } else {
      out.push_back(std::move(*code));
    }
    at = close + 1;
    text_from = at;
  }
  add_text(out, message.substr(text_from));
  return out;
}

std::string to_cq(const std::vector<ObSegment>& segments) {
  std::string out;
  for (const auto& s : segments) {
    if (s.type == "text") {
      out += cq_escape(s.get("text"), false);
      continue;
    }
    out += "[CQ:" + s.type;
    for (const auto& [k, v] : s.data) {
      out += ',' + cq_escape(k, true) + '=' + cq_escape(v, true);
    }
    out += ']';
  }
  return out;
}

namespace {

std::optional<ObSegment> segment_from_json(const json::value& v) {
  const auto* o = v.if_object();
  if (!o) return std::nullopt;
  const auto* type = o->if_contains("type");
  if (!type || !type->is_string() || type->get_string().empty()) return std::nullopt;
  ObSegment segment{std::string(type->get_string()), {}};
  if (const auto* data = o->if_contains("data")) {
    if (const auto* d = data->if_object()) {
      for (const auto& [k, value] : *d) segment.data.emplace_back(std::string(k), as_text(value));
    } else if (!data->is_null()) {
      return std::nullopt;
    }
  }
  return segment;
}

}  // namespace

std::optional<std::vector<ObSegment>> segments_from_json(const json::value& message) {
  if (const auto* s = message.if_string()) return parse_cq(*s);
  if (message.is_object()) {
    auto one = segment_from_json(message);
    if (!one) return std::nullopt;
    return std::vector<ObSegment>{std::move(*one)};
  }
  const auto* array = message.if_array();
  if (!array) return std::nullopt;
  std::vector<ObSegment> out;
  for (const auto& v : *array) {
    auto segment = segment_from_json(v);
    if (!segment) return std::nullopt;
    out.push_back(std::move(*segment));
  }
  return out;
}

json::value to_json(const std::vector<ObSegment>& segments) {
  json::array out;
  for (const auto& s : segments) {
    json::object data;
    for (const auto& [k, v] : s.data) data[k] = v;
    out.push_back(json::object{{"type", s.type}, {"data", std::move(data)}});
  }
  return out;
}

std::optional<std::int64_t> parse_id_text(std::string_view text) {
  std::int64_t id = 0;
  const auto* begin = text.data();
  const auto* end = begin + text.size();
  if (begin == end || *begin == '+' || *begin == '-') return std::nullopt;
  auto [ptr, ec] = std::from_chars(begin, end, id);
  if (ec != std::errc{} || ptr != end || id < 1 || id > kMaxMappedId) return std::nullopt;
  return id;
}

std::optional<std::int64_t> parse_id(const json::value& value) {
  if (const auto* s = value.if_string()) return parse_id_text(*s);
  std::int64_t id = 0;
  if (const auto* i = value.if_int64()) {
    id = *i;
  } else if (const auto* u = value.if_uint64()) {
    if (*u > static_cast<std::uint64_t>(kMaxMappedId)) return std::nullopt;
    id = static_cast<std::int64_t>(*u);
  } else {
    return std::nullopt;
  }
  if (id < 1 || id > kMaxMappedId) return std::nullopt;
  return id;
}

namespace {

bool is_web_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

}  // namespace

InboundMessage from_onebot(const std::vector<ObSegment>& segments) {
  InboundMessage out;
  auto add_text_segment = [&](std::string text) {
    if (text.empty()) return;
    if (!out.segments.empty()) {
      if (auto* last = std::get_if<Text>(&out.segments.back())) {
        last->text += text;
        return;
      }
    }
    out.segments.emplace_back(Text{std::move(text)});
  };
  for (const auto& s : segments) {
    if (s.type == "text") {
      add_text_segment(s.get("text"));
    } else if (s.type == "at") {
      const auto qq = s.get("qq");
      if (qq == "all") {
        out.segments.emplace_back(Mention{"all", s.get("name")});
      } else if (auto id = parse_id_text(qq)) {
        out.segments.emplace_back(Mention{std::to_string(*id), s.get("name")});
      } else {
        out.dropped.push_back(s.type);
      }
    } else if (s.type == "image") {
      auto url = s.get("url");
      if (!is_web_url(url)) url = s.get("file");
      if (is_web_url(url)) {
        out.segments.emplace_back(Image{std::move(url)});
      } else if (url.starts_with("base64://")) {
        auto image = crypto::image_from_base64(std::string_view(url).substr(9));
        if (image.problem.empty()) {
          out.segments.emplace_back(Image{std::move(image.data_url)});
        } else {
          out.dropped.push_back(s.type);
        }
      } else {
        // file:// names a file on the framework's machine, which botgate may not share.
        out.dropped.push_back(s.type);
      }
    } else if (s.type == "reply") {
      auto id = parse_id_text(s.get("id"));
      if (id && !out.reply_to) {
        out.reply_to = id;
      } else {
        out.dropped.push_back(s.type);
      }
    } else if (s.type == "face") {
      add_text_segment("[face:" + s.get("id") + "]");
    } else {
      out.dropped.push_back(s.type);
    }
  }
  return out;
}

}  // namespace botgate::onebot
