#include "botgate/platforms/common/mention_text.hpp"

#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <optional>
#include <utility>
#include <variant>

namespace botgate::platforms {
namespace json = boost::json;

namespace {

constexpr std::string_view kNbsp = "\xC2\xA0";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_front(std::string_view s, bool nbsp) {
  for (;;) {
    if (!s.empty() && is_space(s.front())) {
      s.remove_prefix(1);
    } else if (nbsp && s.starts_with(kNbsp)) {
      s.remove_prefix(kNbsp.size());
    } else {
      return s;
    }
  }
}

std::string_view trim_back(std::string_view s, bool nbsp) {
  for (;;) {
    if (!s.empty() && is_space(s.back())) {
      s.remove_suffix(1);
    } else if (nbsp && s.ends_with(kNbsp)) {
      s.remove_suffix(kNbsp.size());
    } else {
      return s;
    }
  }
}

/// The character an entity at the start of `s` stands for, and the entity's length.
std::optional<std::pair<char, std::size_t>> entity_at(std::string_view s) {
  if (s.starts_with("&lt;")) return std::pair{'<', std::size_t{4}};
  if (s.starts_with("&gt;")) return std::pair{'>', std::size_t{4}};
  if (s.starts_with("&amp;")) return std::pair{'&', std::size_t{5}};
  return std::nullopt;
}

/// The user id of a `<@ID>` or `<@!ID>` token at the start of `s`, and the token's length.
std::optional<std::pair<std::string_view, std::size_t>> user_mention_at(std::string_view s,
                                                                        bool alphanumeric) {
  if (!s.starts_with("<@")) return std::nullopt;
  std::size_t pos = 2;
  if (pos < s.size() && s[pos] == '!') ++pos;
  auto is_id_char = [alphanumeric](char c) {
    if (c >= '0' && c <= '9') return true;
    return alphanumeric &&
           ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-');
  };
  const std::size_t first = pos;
  while (pos < s.size() && is_id_char(s[pos])) ++pos;
  if (pos == first || pos >= s.size() || s[pos] != '>') return std::nullopt;
  return std::pair{s.substr(first, pos - first), pos + 1};
}

}  // namespace

MentionText split_mentions(std::string_view content, const json::object& message,
                           const std::string& bot_id, const MentionSyntax& syntax) {
  const json::array* mentions = array_at(message, "mentions");
  auto name_of = [mentions](std::string_view id) {
    if (mentions != nullptr) {
      for (const json::value& m : *mentions) {
        if (m.is_object() && string_at(m.get_object(), "id") == id) {
          return string_at(m.get_object(), "username");
        }
      }
    }
    return std::string();
  };
  const bool nbsp = syntax.nbsp_is_space;
  MentionText out;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) out.segments.emplace_back(Text{std::move(pending)});
    pending.clear();
  };
  std::vector<std::size_t> bot_mentions;  // indexes into out.segments
  const std::size_t leading = content.size() - trim_front(content, nbsp).size();
  std::size_t pos = 0;
  while (pos < content.size()) {
    const auto entity = syntax.unescape_entities && content[pos] == '&'
                            ? entity_at(content.substr(pos))
                            : std::nullopt;
    if (entity) {
      pending += entity->first;
      out.text += entity->first;
      pos += entity->second;
      continue;
    }
    const auto mention = content[pos] == '<'
                             ? user_mention_at(content.substr(pos), syntax.alphanumeric_ids)
                             : std::nullopt;
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
    const bool is_bot =
        (!bot_id.empty() && id == bot_id) || (syntax.leading_mention_is_bot && at_start);
    if (is_bot) bot_mentions.push_back(out.segments.size());
    out.segments.emplace_back(Mention{id, name});
    if (is_bot) {
      out.mentions_bot = true;
      if (pos < content.size() && content[pos] == ' ') ++pos;
    } else {
      out.text += "@" + (name.empty() ? id : name);
    }
  }
  flush();
  out.text = std::string(trim_back(trim_front(out.text, nbsp), nbsp));
  // Trim the text pieces as the text was trimmed: the whitespace before the first and after the
  // last piece that shows in the text (the bot's mentions do not).
  auto is_bot_mention = [&bot_mentions](std::size_t index) {
    return std::find(bot_mentions.begin(), bot_mentions.end(), index) != bot_mentions.end();
  };
  for (std::size_t i = 0; i < out.segments.size(); ++i) {
    if (auto* t = std::get_if<Text>(&out.segments[i])) {
      t->text = std::string(trim_front(t->text, nbsp));
      if (!t->text.empty()) break;
    } else if (!is_bot_mention(i)) {
      break;
    }
  }
  for (std::size_t i = out.segments.size(); i-- > 0;) {
    if (auto* t = std::get_if<Text>(&out.segments[i])) {
      t->text = std::string(trim_back(t->text, nbsp));
      if (!t->text.empty()) break;
    } else if (!is_bot_mention(i)) {
      break;
    }
  }
  std::erase_if(out.segments, [](const Segment& s) {
    const auto* t = std::get_if<Text>(&s);
    return t != nullptr && t->text.empty();
  });
  // The platform's own list counts too: a mention it resolved that the text does not show.
  if (!bot_id.empty() && mentions != nullptr) {
    for (const json::value& m : *mentions) {
      if (m.is_object() && string_at(m.get_object(), "id") == bot_id) out.mentions_bot = true;
    }
  }
  return out;
}

}  // namespace botgate::platforms
