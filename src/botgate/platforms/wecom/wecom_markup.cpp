#include "botgate/platforms/wecom/wecom_markup.hpp"

#include "botgate/core/utf8.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/common/user_text.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace botgate::wecom {
namespace json = boost::json;
namespace {

constexpr std::string_view kImagePlaceholder = "[image]";

/// "text and markdown contents also accept the inline `<@userid>` syntax" (wecom.md 2.1), and
/// `@all` notifies everyone (it is how a Mention of "all" is written in markdown). User text gets
/// a zero-width space after each `<` and after the `@` of `@all`: it looks the same and mentions
/// nobody. (Markdown's `<font>` typed by a user stays text as well.)
std::string user_text(std::string_view text) {
  return platforms::break_tokens(text, {"<", "@all"});
}

bool is_data_image(const Segment& s) {
  const auto* image = std::get_if<Image>(&s);
  return image != nullptr && image->url.starts_with("data:");
}

bool is_web_image(const Segment& s) {
  const auto* image = std::get_if<Image>(&s);
  return image != nullptr && !image->url.starts_with("data:");
}

bool is_empty_text(const Segment& s) {
  const auto* text = std::get_if<Text>(&s);
  return text != nullptr && text->text.empty();
}

/// The raw bytes of "data:[<mime>];base64,<data>".
Result<std::string> data_url_bytes(std::string_view url) {
  const auto comma = url.find(',');
  if (comma == std::string_view::npos || !url.substr(0, comma).ends_with(";base64")) {
    return Error{errc::platform_rejected, "image data URL is not base64"};
  }
  auto bytes = crypto::base64_decode(url.substr(comma + 1));
  if (!bytes || bytes->empty()) {
    return Error{errc::platform_rejected, "image data URL is not valid base64"};
  }
  return std::move(*bytes);
}

/// A group bot's reply @s the sender (DESIGN.md: "WeCom group bot: @ the sender").
std::string reply_mention(const OutgoingMessage& message, WecomKind kind) {
  return kind == WecomKind::group ? message.reply_to_user : std::string();
}

std::string markdown_prefix(const OutgoingMessage& message, WecomKind kind) {
  const std::string user = reply_mention(message, kind);
  return user.empty() ? std::string() : "<@" + user + "> ";
}

std::size_t limit_for(const std::string& msgtype, WecomKind kind) {
  if (msgtype == "text") return kTextLimit;
  switch (kind) {
    case WecomKind::group: return kMarkdownLimit;
    case WecomKind::app: return kAppMarkdownLimit;
    case WecomKind::aibot: return kAibotMarkdownLimit;
  }
  return kTextLimit;
}

bool is_news(const std::vector<Segment>& segments, WecomKind kind) {
  if (kind == WecomKind::aibot) return false;
  std::size_t links = 0;
  std::size_t images = 0;
  for (const Segment& s : segments) {
    if (std::holds_alternative<Link>(s)) {
      ++links;
    } else if (is_web_image(s)) {
      ++images;
    } else if (!is_empty_text(s)) {
      return false;
    }
  }
  return links >= 1 && links <= kMaxArticles && images <= 1;
}

WecomContent news(const std::vector<Segment>& segments) {
  WecomContent out;
  out.msgtype = "news";
  std::string picurl;
  for (const Segment& s : segments) {
    if (const auto* link = std::get_if<Link>(&s)) {
      out.articles.push_back({link->text.empty() ? link->url : link->text, link->url, {}});
    } else if (const auto* image = std::get_if<Image>(&s)) {
      picurl = image->url;
    }
  }
  out.articles.front().picurl = picurl;
  return out;
}

Result<WecomContent> image(const Image& segment) {
  auto bytes = data_url_bytes(segment.url);
  if (!bytes) return bytes.error();
  // "图片（base64编码前）最大不能超过2M" (doc 99110): checked here so nothing is sent.
  if (bytes->size() > kImageLimit) {
    return Error{errc::platform_rejected, "image is " + std::to_string(bytes->size()) +
                                              " bytes; WeCom takes at most 2 MB"};
  }
  WecomContent out;
  out.msgtype = "image";
  out.image_base64 = crypto::base64_encode(*bytes);
  out.image_md5 = crypto::to_hex(crypto::md5(*bytes));
  return out;
}

std::string markdown_text(const std::vector<Segment>& segments) {
  std::string out;
  for (const Segment& s : segments) {
    std::visit(
        [&](const auto& seg) {
          using T = std::decay_t<decltype(seg)>;
          if constexpr (std::is_same_v<T, Text>) {
            out += user_text(seg.text);
          } else if constexpr (std::is_same_v<T, Markdown>) {
            out += seg.markdown;
          } else if constexpr (std::is_same_v<T, Mention>) {
            // "mentioned_list does not apply to markdown — use <@userid>" (wecom.md §2.1).
            out += seg.user_id == "all" ? std::string("@all") : "<@" + seg.user_id + ">";
          } else if constexpr (std::is_same_v<T, Link>) {
            out += "[" + (seg.text.empty() ? seg.url : seg.text) + "](" + seg.url + ")";
          } else if constexpr (std::is_same_v<T, Image>) {
            out += seg.url.starts_with("data:") ? std::string(kImagePlaceholder)
                                                : "[image](" + seg.url + ")";
          }
        },
        s);
  }
  return out;
}

/// Text with the mentioned userids apart (for mentioned_list).
std::string plain_text(const std::vector<Segment>& segments, std::vector<std::string>& mentioned) {
  std::string out;
  for (const Segment& s : segments) {
    if (const auto* text = std::get_if<Text>(&s)) {
      out += user_text(text->text);
    } else if (const auto* mention = std::get_if<Mention>(&s)) {
      // The mention itself is mentioned_list; its name in the text must not be another one.
      out += mention->user_id == "all"
                 ? std::string("@all")
                 : user_text("@" + (mention->name.empty() ? mention->user_id : mention->name));
      mentioned.push_back(mention->user_id == "all" ? std::string("@all") : mention->user_id);
    } else if (std::holds_alternative<Image>(s)) {
      out += kImagePlaceholder;
    }
  }
  return out;
}

bool needs_markdown(const std::vector<Segment>& segments, WecomKind kind) {
  if (kind == WecomKind::aibot) return true;  // response_url takes markdown (doc 101138)
  for (const Segment& s : segments) {
    if (std::holds_alternative<Markdown>(s) || std::holds_alternative<Link>(s) || is_web_image(s)) {
      return true;
    }
  }
  return false;
}

OutgoingMessage with_segments(const OutgoingMessage& message, std::vector<Segment> segments) {
  OutgoingMessage part = message;
  part.segments = std::move(segments);
  return part;
}

}  // namespace

Result<WecomContent> encode_content(const OutgoingMessage& message, WecomKind kind) {
  std::vector<Segment> segments;
  for (const Segment& s : message.segments) {
    if (!is_empty_text(s)) segments.push_back(s);
  }
  if (segments.empty()) return Error{errc::platform_rejected, "empty message"};
  if (kind == WecomKind::group && segments.size() == 1 && is_data_image(segments.front())) {
    return image(std::get<Image>(segments.front()));
  }
  if (is_news(segments, kind)) return news(segments);

  WecomContent out;
  const std::string user = reply_mention(message, kind);
  if (needs_markdown(segments, kind)) {
    out.msgtype = "markdown";
    out.content = markdown_text(segments);
    if (!user.empty() && out.content.find("<@" + user + ">") == std::string::npos) {
      out.content = markdown_prefix(message, kind) + out.content;
    }
  } else {
    out.msgtype = "text";
    out.content = plain_text(segments, out.mentioned_list);
    // mentioned_list belongs to the group bots' webhook API only.
    if (kind != WecomKind::group) out.mentioned_list.clear();
    if (!user.empty() && std::find(out.mentioned_list.begin(), out.mentioned_list.end(), user) ==
                             out.mentioned_list.end()) {
      out.mentioned_list.push_back(user);
    }
  }
  return out;
}

std::string message_json(const WecomContent& content, std::string_view touser,
                         std::int64_t agent_id) {
  json::object inner;
  if (content.msgtype == "text" || content.msgtype == "markdown") {
    inner["content"] = content.content;
    if (!content.mentioned_list.empty()) {
      json::array list;
      for (const std::string& user : content.mentioned_list) list.emplace_back(user);
      inner["mentioned_list"] = std::move(list);
    }
  } else if (content.msgtype == "image") {
    inner["base64"] = content.image_base64;
    inner["md5"] = content.image_md5;
  } else if (content.msgtype == "news") {
    json::array articles;
    for (const NewsArticle& a : content.articles) {
      json::object article{{"title", a.title}, {"url", a.url}};
      if (!a.picurl.empty()) article["picurl"] = a.picurl;
      articles.emplace_back(std::move(article));
    }
    inner["articles"] = std::move(articles);
  }
  json::object body{{"msgtype", content.msgtype}};
  if (!touser.empty()) {
    body["touser"] = touser;
    body["agentid"] = agent_id;
    body["enable_duplicate_check"] = 1;
    body["duplicate_check_interval"] = kDuplicateCheckInterval.count();
  }
  body[content.msgtype] = std::move(inner);
  return json::serialize(body);
}

std::vector<OutgoingMessage> split_message(OutgoingMessage message, WecomKind kind) {
  // A group bot sends an inline image as a message of its own.
  std::vector<std::vector<Segment>> groups(1);
  for (Segment& s : message.segments) {
    if (kind == WecomKind::group && is_data_image(s)) {
      groups.emplace_back().push_back(std::move(s));
      groups.emplace_back();
    } else {
      groups.back().push_back(std::move(s));
    }
  }
  std::vector<OutgoingMessage> parts;
  // Only the first text or markdown message of a reply @s the sender.
  bool mention_placed = false;
  for (std::vector<Segment>& group : groups) {
    if (group.empty()) continue;
    OutgoingMessage part = with_segments(message, std::move(group));
    auto content = encode_content(part, kind);
    const bool textual = content && (content->msgtype == "text" || content->msgtype == "markdown");
    if (!textual) {
      parts.push_back(std::move(part));
      continue;
    }
    if (mention_placed) part.reply_to_user.clear();
    mention_placed = true;
    const std::size_t limit = limit_for(content->msgtype, kind);
    if (content->content.size() <= limit) {
      parts.push_back(std::move(part));
      continue;
    }
    // The pieces are rendered content: each becomes one Text or Markdown segment. The leading
    // <@userid> is added again to the first piece, so room is kept for it.
    const bool markdown = content->msgtype == "markdown";
    const std::string prefix = markdown ? markdown_prefix(part, kind) : std::string();
    std::string_view body = content->content;
    if (!prefix.empty() && body.starts_with(prefix)) body.remove_prefix(prefix.size());
    for (std::string& piece : split_utf8(body, limit - prefix.size())) {
      Segment segment =
          markdown ? Segment{Markdown{std::move(piece)}} : Segment{Text{std::move(piece)}};
      parts.push_back(with_segments(part, {std::move(segment)}));
      part.reply_to_user.clear();
    }
  }
  // Nothing to send: kept whole, so that send() reports it.
  if (parts.empty()) parts.push_back(std::move(message));
  return parts;
}

std::vector<OutgoingMessage> merge_for_response_url(std::vector<OutgoingMessage> replies,
                                                    bool* cut) {
  if (cut != nullptr) *cut = false;
  struct Merged {
    std::size_t index;  // in `out`
    std::string markdown;
    int replies = 0;
  };
  std::vector<OutgoingMessage> out;
  std::vector<Merged> merged;
  for (OutgoingMessage& reply : replies) {
    if (reply.reply_credential.empty()) {
      out.push_back(std::move(reply));
      continue;
    }
    std::vector<Segment> segments;
    for (const Segment& s : reply.segments) {
      if (!is_empty_text(s)) segments.push_back(s);
    }
    const std::string text = markdown_text(segments);
    auto same = std::find_if(merged.begin(), merged.end(), [&](const Merged& m) {
      return out[m.index].reply_credential == reply.reply_credential;
    });
    if (same == merged.end()) {
      merged.push_back(Merged{out.size(), text, 1});
      out.push_back(std::move(reply));
      continue;
    }
    if (!text.empty()) {
      if (!same->markdown.empty()) same->markdown += "\n\n";
      same->markdown += text;
    }
    ++same->replies;
  }
  static constexpr std::string_view kCutMark = "\n…";
  for (Merged& m : merged) {
    if (m.replies == 1 && m.markdown.size() <= kAibotMarkdownLimit) continue;  // as it was
    if (m.markdown.size() > kAibotMarkdownLimit) {
      // As much as fits, cut between UTF-8 characters (not at an earlier line break, as
      // split_utf8 would: nothing after the cut is sent at all).
      std::size_t end = kAibotMarkdownLimit - kCutMark.size();
      while (end > 0 && (static_cast<unsigned char>(m.markdown[end]) & 0xC0) == 0x80) --end;
      m.markdown.resize(end);
      m.markdown += kCutMark;
      if (cut != nullptr) *cut = true;
    }
    out[m.index].segments = {Markdown{std::move(m.markdown)}};
  }
  return out;
}

std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes) {
  std::vector<std::string> pieces;
  if (max_bytes < 4) max_bytes = 4;  // room for one UTF-8 character
  while (text.size() > max_bytes) {
    const std::string_view window = text.substr(0, max_bytes + 1);
    std::size_t cut = std::string_view::npos;
    std::size_t skip = 0;
    for (char separator : {'\n', ' '}) {
      const auto at = window.rfind(separator);
      if (at != std::string_view::npos && at >= max_bytes / 2) {
        cut = at;
        skip = 1;
        break;
      }
    }
    if (cut == std::string_view::npos) {
      // Back up to the first byte of a character (continuation bytes are 10xxxxxx).
      cut = utf8_prefix_length(text, max_bytes);
      if (cut == 0) cut = max_bytes;  // not UTF-8: cut anywhere rather than loop
      // Not between a '<' and the zero-width space user_text() put after it: the piece is
      // encoded again, and a '<' at its end would get another one, past the limit.
      if (cut > 1 && text.substr(cut).starts_with(platforms::kZeroWidthSpace)) --cut;
    }
    if (cut > 0) pieces.emplace_back(text.substr(0, cut));
    text.remove_prefix(cut + skip);
  }
  if (!text.empty()) pieces.emplace_back(text);
  return pieces;
}

}  // namespace botgate::wecom
