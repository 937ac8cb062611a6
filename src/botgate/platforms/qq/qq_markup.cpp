#include "botgate/platforms/qq/qq_markup.hpp"

#include "botgate/platforms/common/user_text.hpp"

#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace botgate::qq {
namespace {

namespace json = boost::json;

bool is_http_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

bool is_guild(QqChatKind kind) { return kind == QqChatKind::channel || kind == QqChatKind::dms; }

// The text of one segment; `image` collects the first http(s) image of a guild message.
class Renderer {
 public:
  Renderer(QqChatKind kind, bool markdown) : kind_(kind), markdown_(markdown) {}

  void add(const Segment& segment) {
    std::visit([this](const auto& s) { add_one(s); }, segment);
  }

  std::string text;
  std::string image;

 private:
  void add_one(const Text& s) { text += user_text(s.text); }

  /// QQ reads mentions inside message text: `<@user_id>`, `<@!user_id>`, `@everyone` and
  /// `<#channel_id>` in guild messages ("内嵌格式", notes 5.3), `<qqbot-at-user id="" />` and
  /// `<qqbot-at-everyone />` in group and C2C ones (5.2). Guild text is "entity-escaped on
  /// delivery and unescaped on send" (`&amp;` `&lt;` `&gt;`, notes 5.3), so a guild message's
  /// text is escaped and reads exactly as typed. Elsewhere (groups, C2C, markdown) no escape is
  /// documented: a zero-width space after each `<` keeps a tag from forming. `@everyone` is no
  /// tag and gets one after its `@` everywhere.
  std::string user_text(std::string_view s) const {
    if (is_guild(kind_) && !markdown_) {
      return platforms::break_tokens(platforms::escape_html_entities(s), {"@everyone"});
    }
    return platforms::break_tokens(s, {"<", "@everyone"});
  }

  void add_one(const Markdown& s) { text += s.markdown; }
  void add_one(const Mention& s) {
    // Only guild channels have a mention token (notes 5.3); a guild DM has one other member.
    if (kind_ == QqChatKind::channel && !s.user_id.empty()) {
      text += s.user_id == "all" ? std::string("@everyone") : "<@" + s.user_id + ">";
    } else if (!s.name.empty()) {
      text += user_text("@" + s.name);  // a display name "everyone" must stay text
    }
  }
  void add_one(const Link& s) {
    if (markdown_ && !s.text.empty() && s.text != s.url) {
      text += "[" + s.text + "](" + s.url + ")";
    } else if (s.text.empty() || s.text == s.url) {
      text += s.url;
    } else {
      text += s.text + " " + s.url;
    }
  }
  void add_one(const Image& s) {
    if (!is_http_url(s.url)) {
      text += "[image]";
    } else if (is_guild(kind_) && image.empty()) {
      image = s.url;
    } else {
      // Group / c2c images need the rich media upload (notes 6.1), not done yet: the URL as text
      // (and it must be a registered URL domain, else 304003).
      text += s.url;
    }
  }

  QqChatKind kind_;
  bool markdown_;
};

}  // namespace

Result<json::object> qq_message_body(const std::vector<Segment>& segments, QqChatKind kind) {
  bool markdown = false;
  for (const Segment& segment : segments) {
    if (std::holds_alternative<Markdown>(segment)) markdown = true;
  }
  Renderer renderer(kind, markdown);
  for (const Segment& segment : segments) renderer.add(segment);
  if (renderer.text.empty() && renderer.image.empty()) {
    return Error{errc::platform_rejected, "empty message: nothing QQ can show"};
  }

  json::object body;
  const bool v2 = !is_guild(kind);
  if (v2) body["msg_type"] = markdown ? kQqMsgTypeMarkdown : kQqMsgTypeText;
  if (markdown) {
    json::object content;
    content["content"] = renderer.text;
    body["markdown"] = std::move(content);
  } else if (!renderer.text.empty()) {
    body["content"] = renderer.text;
  }
  if (!renderer.image.empty()) body["image"] = renderer.image;
  return body;
}

}  // namespace botgate::qq
