#include "botgate/platforms/feishu/feishu_markup.hpp"

#include "botgate/platforms/common/user_text.hpp"

#include <boost/json.hpp>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

/// Feishu reads `<at user_id="..">` tags in a text message's text and in a post's `text` and
/// `md` elements ("@所有人: <at user_id=\"all\"></at>"; a post's "text or md element" takes "the
/// same inline form as text"), and it shows `&lt;` as typed (a post text's `un_escape` is false
/// by default), so entities cannot escape it. A zero-width space after every `<` of the user's
/// text keeps any tag from forming; the text looks the same.
std::string user_text(std::string_view text) { return platforms::break_tokens(text, {"<"}); }

bool is_plain(const OutgoingMessage& message) {
  for (const Segment& s : message.segments) {
    if (!std::holds_alternative<Text>(s) && !std::holds_alternative<Mention>(s)) return false;
  }
  return true;
}

}  // namespace

FeishuContent encode_content(const OutgoingMessage& message) {
  if (is_plain(message)) {
    std::string text;
    for (const Segment& s : message.segments) {
      if (const auto* t = std::get_if<Text>(&s)) {
        text += user_text(t->text);
      } else if (const auto* m = std::get_if<Mention>(&s)) {
        // The name is display text (often a user's own): it must not close the tag and open one.
        text += "<at user_id=\"" + m->user_id + "\">" + user_text(m->name) + "</at>";
      }
    }
    return {"text", json::serialize(json::object{{"text", text}})};
  }
  json::array paragraphs;
  json::array line;
  auto flush = [&] {
    if (!line.empty()) paragraphs.emplace_back(std::move(line));
    line = json::array();
  };
  for (const Segment& s : message.segments) {
    std::visit(
        [&](const auto& seg) {
          using T = std::decay_t<decltype(seg)>;
          if constexpr (std::is_same_v<T, Text>) {
            line.emplace_back(json::object{{"tag", "text"}, {"text", user_text(seg.text)}});
          } else if constexpr (std::is_same_v<T, Mention>) {
            line.emplace_back(json::object{{"tag", "at"}, {"user_id", seg.user_id}});
          } else if constexpr (std::is_same_v<T, Markdown>) {
            // An md element stands alone in its paragraph.
            flush();
            line.emplace_back(json::object{{"tag", "md"}, {"text", seg.markdown}});
            flush();
          } else if constexpr (std::is_same_v<T, Link>) {
            line.emplace_back(json::object{
                {"tag", "a"}, {"text", seg.text.empty() ? seg.url : seg.text}, {"href", seg.url}});
          } else if constexpr (std::is_same_v<T, Image>) {
            constexpr std::string_view kKey = "feishu:";
            if (std::string_view(seg.url).starts_with(kKey)) {
              flush();
              line.emplace_back(
                  json::object{{"tag", "img"}, {"image_key", seg.url.substr(kKey.size())}});
              flush();
            } else if (std::string_view(seg.url).starts_with("data:")) {
              // Image bytes need an upload to /open-apis/im/v1/images first, which botgate does
              // not do yet: say so rather than send a megabyte-long link.
              line.emplace_back(json::object{{"tag", "text"}, {"text", "[image]"}});
            } else {
              line.emplace_back(json::object{{"tag", "a"}, {"text", seg.url}, {"href", seg.url}});
            }
          }
        },
        s);
  }
  flush();
  json::object post{{"zh_cn", json::object{{"title", ""}, {"content", std::move(paragraphs)}}}};
  return {"post", json::serialize(post)};
}

}  // namespace botgate::feishu
