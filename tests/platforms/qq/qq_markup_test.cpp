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

}  // namespace
}  // namespace botgate::qq
