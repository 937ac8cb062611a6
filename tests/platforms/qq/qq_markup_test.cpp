#include "botgate/platforms/qq/qq_markup.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;

json::object body_of(const std::vector<Segment>& segments, QqChatKind kind) {
  auto body = qq_message_body(segments, kind);
  EXPECT_TRUE(body.has_value()) << (body ? "" : body.error().message());
  return body ? *body : json::object{};
}

TEST(QqMarkupTest, TextIsMsgType0OnV2AndPlainContentInGuilds) {
  const std::vector<Segment> segments{Text{"hello "}, Text{"world"}};
  const auto group = body_of(segments, QqChatKind::group);
  EXPECT_EQ(json::serialize(group), R"({"msg_type":0,"content":"hello world"})");
  const auto c2c = body_of(segments, QqChatKind::c2c);
  EXPECT_EQ(json::serialize(c2c), R"({"msg_type":0,"content":"hello world"})");
  const auto channel = body_of(segments, QqChatKind::channel);
  EXPECT_EQ(json::serialize(channel), R"({"content":"hello world"})");
  const auto dms = body_of(segments, QqChatKind::dms);
  EXPECT_EQ(json::serialize(dms), R"({"content":"hello world"})");
}

TEST(QqMarkupTest, MarkdownMakesTheWholeMessageMarkdown) {
  const std::vector<Segment> segments{Markdown{"# Title\n"}, Text{"see "},
                                      Link{"docs", "https://example.com/d"}};
  const auto group = body_of(segments, QqChatKind::group);
  EXPECT_EQ(
      json::serialize(group),
      R"js({"msg_type":2,"markdown":{"content":"# Title\nsee [docs](https://example.com/d)"}})js");
  const auto channel = body_of(segments, QqChatKind::channel);
  EXPECT_EQ(json::serialize(channel),
            R"js({"markdown":{"content":"# Title\nsee [docs](https://example.com/d)"}})js");
}

TEST(QqMarkupTest, MentionsAreTokensOnlyInGuildChannels) {
  const std::vector<Segment> segments{Mention{"u1", "Ann"}, Text{" hi "}, Mention{"all", ""},
                                      Mention{"u2", ""}};
  EXPECT_EQ(body_of(segments, QqChatKind::channel).at("content").as_string(),
            "<@u1> hi @everyone<@u2>");
  EXPECT_EQ(body_of(segments, QqChatKind::group).at("content").as_string(), "@Ann hi ");
  EXPECT_EQ(body_of(segments, QqChatKind::dms).at("content").as_string(), "@Ann hi ");
  EXPECT_EQ(body_of(segments, QqChatKind::c2c).at("content").as_string(), "@Ann hi ");
}

TEST(QqMarkupTest, LinksAreTextThenUrl) {
  const std::vector<Segment> segments{Link{"docs", "https://a.example/x"}, Text{" "},
                                      Link{"", "https://b.example"}, Text{" "},
                                      Link{"https://c.example", "https://c.example"}};
  EXPECT_EQ(body_of(segments, QqChatKind::group).at("content").as_string(),
            "docs https://a.example/x https://b.example https://c.example");
}

TEST(QqMarkupTest, GuildImagesGoInTheImageFieldOthersBecomeText) {
  const std::vector<Segment> segments{Text{"look"}, Image{"https://img.example/a.png"},
                                      Image{"https://img.example/b.png"}};
  const auto channel = body_of(segments, QqChatKind::channel);
  EXPECT_EQ(json::serialize(channel),
            R"({"content":"lookhttps://img.example/b.png","image":"https://img.example/a.png"})");
  const auto dms = body_of({Image{"http://img.example/a.png"}}, QqChatKind::dms);
  EXPECT_EQ(json::serialize(dms), R"({"image":"http://img.example/a.png"})");
  // No rich media upload yet: group / c2c see the URL.
  const auto group = body_of(segments, QqChatKind::group);
  EXPECT_EQ(group.at("content").as_string(),
            "lookhttps://img.example/a.pnghttps://img.example/b.png");
  EXPECT_FALSE(group.contains("image"));
  const auto keyed = body_of({Image{"img_v2_key"}}, QqChatKind::channel);
  EXPECT_EQ(json::serialize(keyed), R"({"content":"[image]"})");
}

TEST(QqMarkupTest, AnEmptyMessageIsRejected) {
  auto empty = qq_message_body({}, QqChatKind::group);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().is(errc::platform_rejected));
  auto nameless = qq_message_body({Mention{"u1", ""}, Text{""}}, QqChatKind::c2c);
  ASSERT_FALSE(nameless);
  EXPECT_TRUE(nameless.error().is(errc::platform_rejected));
}

// --- user text never mentions anyone -------------------------------------------------------------

TEST(QqMarkupTest, GuildTextIsEntityEscapedAndEveryoneBroken) {
  // Notes 5.3: guild text is unescaped on send, so &lt;@!1&gt; shows as "<@!1>" and mentions
  // nobody; the Mention segments stay real tokens.
  const std::vector<Segment> segments{Mention{"u1", ""},
                                      Text{" <@!123> <@456> <#789> @everyone @EVERYONE & x"},
                                      Mention{"all", ""}};
  for (QqChatKind kind : {QqChatKind::channel, QqChatKind::dms}) {
    const std::string content(body_of(segments, kind).at("content").as_string());
    EXPECT_EQ(content.find("<@!123>"), std::string::npos) << content;
    EXPECT_EQ(content.find("<#"), std::string::npos) << content;
  }
  EXPECT_EQ(body_of(segments, QqChatKind::channel).at("content").as_string(),
            "<@u1> &lt;@!123&gt; &lt;@456&gt; &lt;#789&gt; @\u200beveryone @\u200bEVERYONE &amp; "
            "x@everyone");
}

TEST(QqMarkupTest, GroupAndC2cTagsGetAZeroWidthSpace) {
  const std::vector<Segment> segments{
      Text{R"(<qqbot-at-everyone /> <qqbot-at-user id="u9" /> <@u9> @everyone)"}};
  for (QqChatKind kind : {QqChatKind::group, QqChatKind::c2c}) {
    EXPECT_EQ(body_of(segments, kind).at("content").as_string(),
              "<\u200bqqbot-at-everyone /> <\u200bqqbot-at-user id=\"u9\" /> <\u200b@u9> "
              "@\u200beveryone");
  }
}

TEST(QqMarkupTest, MarkdownMessagesBreakTagsInTheirTextToo) {
  const std::vector<Segment> segments{Markdown{"**hi** "}, Text{"<@!1> @everyone"}};
  EXPECT_EQ(body_of(segments, QqChatKind::channel).at("markdown").at("content").as_string(),
            "**hi** <\u200b@!1> @\u200beveryone");
  EXPECT_EQ(body_of(segments, QqChatKind::group).at("markdown").at("content").as_string(),
            "**hi** <\u200b@!1> @\u200beveryone");
}

TEST(QqMarkupTest, AMentionNameOfEveryoneStaysText) {
  const std::vector<Segment> segments{Mention{"u1", "everyone"}, Text{" hi"}};
  EXPECT_EQ(body_of(segments, QqChatKind::dms).at("content").as_string(), "@\u200beveryone hi");
  EXPECT_EQ(body_of(segments, QqChatKind::group).at("content").as_string(), "@\u200beveryone hi");
}

}  // namespace
}  // namespace botgate::qq
