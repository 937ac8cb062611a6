#include "botgate/platforms/discord/discord_markup.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <optional>
#include <type_traits>

namespace botgate::discord {
namespace {

constexpr std::string_view kEveryone = "@everyone";

bool is_continuation(char c) noexcept { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

/// The byte offset where code point `n` (from 0) starts; text.size() when there are fewer.
std::size_t offset_of_code_point(std::string_view text, std::size_t n) noexcept {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_continuation(text[i])) continue;
    if (seen == n) return i;
    ++seen;
  }
  return text.size();
}

bool starts_with_icase(std::string_view text, std::string_view prefix) noexcept {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = text[i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != prefix[i]) return false;
  }
  return true;
}

bool is_web_url(std::string_view url) noexcept {
  return starts_with_icase(url, "https://") || starts_with_icase(url, "http://");
}

/// Link text inside "[..]": a bracket would end it early.
std::string escape_link_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

/// A URL inside "(..)": parentheses and spaces would end it early.
std::string escape_link_url(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  for (char c : url) {
    if (c == '(') {
      out += "%28";
    } else if (c == ')') {
      out += "%29";
    } else if (c == ' ') {
      out += "%20";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// `chunk` of a rendered message as segments: Markdown, with each "@everyone" as a Mention of
/// "all" when the message mentioned everyone, and each "<@id>" of a user it mentioned as a
/// Mention of that user (so that the part notifies them as the whole message would have).
std::vector<Segment> chunk_segments(std::string_view chunk, const DiscordContent& rendered) {
  std::vector<Segment> segments;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) segments.emplace_back(Markdown{std::move(pending)});
    pending.clear();
  };
  while (!chunk.empty()) {
    std::optional<Mention> mention;
    std::size_t length = 0;
    if (rendered.mentions_everyone && chunk.starts_with(kEveryone)) {
      mention = Mention{"all", ""};
      length = kEveryone.size();
    } else if (chunk.starts_with("<@")) {
      for (const std::string& id : rendered.mentioned_users) {
        if (chunk.substr(2).starts_with(id) && chunk.substr(2 + id.size()).starts_with('>')) {
          mention = Mention{id, ""};
          length = id.size() + 3;
          break;
        }
      }
    }
    if (mention) {
      flush();
      segments.emplace_back(std::move(*mention));
      chunk.remove_prefix(length);
    } else {
      pending += chunk.front();
      chunk.remove_prefix(1);
    }
  }
  flush();
  return segments;
}

}  // namespace

Result<DiscordContent> render_discord_content(const std::vector<Segment>& segments) {
  DiscordContent out;
  for (const Segment& segment : segments) {
    bool ok = true;
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, Text>) {
            out.content += s.text;
          } else if constexpr (std::is_same_v<T, Markdown>) {
            out.content += s.markdown;
          } else if constexpr (std::is_same_v<T, Mention>) {
            if (s.user_id == "all") {
              out.content += kEveryone;
              out.mentions_everyone = true;
            } else {
              out.content += "<@" + s.user_id + ">";
              auto& users = out.mentioned_users;
              if (!s.user_id.empty() && users.size() < kMaxAllowedUsers &&
                  std::find(users.begin(), users.end(), s.user_id) == users.end()) {
                users.push_back(s.user_id);
              }
            }
          } else if constexpr (std::is_same_v<T, Link>) {
            if (s.text.empty() || s.text == s.url) {
              out.content += s.url;
            } else {
              out.content += "[" + escape_link_text(s.text) + "](" + escape_link_url(s.url) + ")";
            }
          } else if constexpr (std::is_same_v<T, Image>) {
            if (is_web_url(s.url)) {
              out.image_urls.push_back(s.url);
            } else {
              ok = false;
            }
          }
        },
        segment);
    if (!ok) {
      // The URL is left out: a data: URL is megabytes of base64.
      return Error{errc::platform_rejected,
                   "discord: an image needs an http(s) URL (file uploads are not supported)"};
    }
  }
  return out;
}

std::size_t count_code_points(std::string_view text) noexcept {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation(c); }));
}

std::vector<std::string> split_discord_content(std::string text, std::size_t max_chars) {
  std::vector<std::string> pieces;
  max_chars = std::max<std::size_t>(max_chars, 1);
  std::string_view rest = text;
  while (count_code_points(rest) > max_chars) {
    // `end` starts the first code point beyond the window; a separator right there still
    // makes a full piece, so the search includes it.
    const std::size_t end = offset_of_code_point(rest, max_chars);
    const std::size_t half = offset_of_code_point(rest, max_chars / 2);
    const std::string_view window = rest.substr(0, end + 1);
    std::size_t cut = end;
    std::size_t skip = 0;
    for (char separator : {'\n', ' '}) {
      const auto at = window.rfind(separator);
      if (at != std::string_view::npos && at >= half && at > 0) {
        cut = at;
        skip = 1;
        break;
      }
    }
    pieces.emplace_back(rest.substr(0, cut));
    rest.remove_prefix(cut + skip);
  }
  if (!rest.empty()) pieces.emplace_back(rest);
  return pieces;
}

std::vector<OutgoingMessage> split_discord_message(OutgoingMessage message) {
  std::vector<OutgoingMessage> parts;
  auto rendered = render_discord_content(message.segments);
  if (!rendered || (count_code_points(rendered->content) <= kMaxContentChars &&
                    rendered->image_urls.size() <= kMaxEmbeds)) {
    parts.push_back(std::move(message));
    return parts;
  }
  message.segments.clear();
  auto part_with = [&message](std::vector<Segment> segments) {
    OutgoingMessage part = message;  // addressing, reply_to, reply context and credential, key
    part.segments = std::move(segments);
    return part;
  };
  for (const std::string& chunk : split_discord_content(rendered->content)) {
    parts.push_back(part_with(chunk_segments(chunk, *rendered)));
  }
  // Embeds go with the last piece of text, 10 a message; the rest follow on their own.
  const auto& urls = rendered->image_urls;
  for (std::size_t first = 0; first < urls.size(); first += kMaxEmbeds) {
    const std::size_t last = std::min(first + kMaxEmbeds, urls.size());
    if (first == 0 && !parts.empty()) {
      for (std::size_t i = first; i < last; ++i) parts.back().segments.emplace_back(Image{urls[i]});
      continue;
    }
    std::vector<Segment> images;
    for (std::size_t i = first; i < last; ++i) images.emplace_back(Image{urls[i]});
    parts.push_back(part_with(std::move(images)));
  }
  return parts;
}

namespace {

boost::json::object allowed_mentions(const DiscordContent& content, bool reply) {
  // "parse: An array of allowed mention types to parse from the content"; "users: Array of
  // user_ids to mention". Nothing is parsed from the content but @everyone for a Mention of
  // "all": a "<@id>", "<@&role>" or "@everyone" that a user typed (echoed back, or put into a
  // rule's reply) stays silent, and only the Mention segments' users are notified.
  boost::json::array parse;
  if (content.mentions_everyone) parse.emplace_back("everyone");
  boost::json::object mentions{{"parse", std::move(parse)}};
  if (!content.mentioned_users.empty()) {
    boost::json::array users;
    for (const std::string& id : content.mentioned_users) users.emplace_back(id);
    mentions["users"] = std::move(users);
  }
  if (reply) mentions["replied_user"] = true;
  return mentions;
}

}  // namespace

boost::json::object discord_message_body(const DiscordContent& content, bool reply) {
  boost::json::object body;
  if (!content.content.empty()) body["content"] = content.content;
  if (!content.image_urls.empty()) {
    boost::json::array embeds;
    for (std::size_t i = 0; i < content.image_urls.size() && i < kMaxEmbeds; ++i) {
      boost::json::object image{{"url", content.image_urls[i]}};
      embeds.emplace_back(boost::json::object{{"image", std::move(image)}});
    }
    body["embeds"] = std::move(embeds);
  }
  body["allowed_mentions"] = allowed_mentions(content, reply);
  return body;
}

}  // namespace botgate::discord
