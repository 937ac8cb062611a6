#include "botgate/platforms/feishu/feishu_markup.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace botgate::feishu {
namespace {
namespace json = boost::json;

OutgoingMessage with(std::vector<Segment> segments) {
  OutgoingMessage message;
  message.segments = std::move(segments);
  return message;
}

/// The paragraphs of a post content: {"zh_cn":{"title":"","content":[[...],...]}}.
json::array post_paragraphs(const FeishuContent& content) {
  const json::value post = json::parse(content.content);
  return post.at("zh_cn").at("content").as_array();
}

TEST(FeishuMarkupTest, PlainTextIsATextMessage) {
  const FeishuContent content = encode_content(OutgoingMessage::plain("hello \"world\"\nbye"));
  EXPECT_EQ(content.msg_type, "text");
  EXPECT_EQ(json::parse(content.content),
            json::value(json::object{{"text", "hello \"world\"\nbye"}}));
}

TEST(FeishuMarkupTest, EmptyMessageIsAnEmptyText) {
  const FeishuContent content = encode_content(OutgoingMessage{});
  EXPECT_EQ(content.msg_type, "text");
  EXPECT_EQ(json::parse(content.content), json::value(json::object{{"text", ""}}));
}

TEST(FeishuMarkupTest, MentionIsAnAtTagInText) {
  const FeishuContent content =
      encode_content(with({Text{"hi "}, Mention{"ou_alice", "Alice"}, Text{", done"}}));
  EXPECT_EQ(content.msg_type, "text");
  EXPECT_EQ(json::parse(content.content),
            json::value(json::object{{"text", R"(hi <at user_id="ou_alice">Alice</at>, done)"}}));
}

TEST(FeishuMarkupTest, MentionOfEveryone) {
  const FeishuContent content = encode_content(with({Mention{"all", "everyone"}, Text{" ship"}}));
  EXPECT_EQ(content.msg_type, "text");
  EXPECT_EQ(json::parse(content.content),
            json::value(json::object{{"text", R"(<at user_id="all">everyone</at> ship)"}}));
}

TEST(FeishuMarkupTest, MarkdownIsAPostWithAnMdParagraph) {
  const FeishuContent content =
      encode_content(with({Text{"before"}, Markdown{"**bold** `code`"}, Text{"after"}}));
  EXPECT_EQ(content.msg_type, "post");
  const json::value expected = json::parse(R"({"zh_cn":{"title":"","content":[
      [{"tag":"text","text":"before"}],
      [{"tag":"md","text":"**bold** `code`"}],
      [{"tag":"text","text":"after"}]]}})");
  EXPECT_EQ(json::parse(content.content), expected);
}

TEST(FeishuMarkupTest, MarkdownAloneIsOneParagraph) {
  const FeishuContent content = encode_content(OutgoingMessage::markdown("# Title"));
  EXPECT_EQ(content.msg_type, "post");
  const json::array paragraphs = post_paragraphs(content);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0], json::parse(R"([{"tag":"md","text":"# Title"}])"));
}

TEST(FeishuMarkupTest, LinkIsAnAElementInTheLine) {
  const FeishuContent content = encode_content(
      with({Text{"see "}, Link{"the docs", "https://example.com/docs"}, Mention{"ou_bob", "Bob"}}));
  EXPECT_EQ(content.msg_type, "post");
  const json::array paragraphs = post_paragraphs(content);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0], json::parse(R"([
      {"tag":"text","text":"see "},
      {"tag":"a","text":"the docs","href":"https://example.com/docs"},
      {"tag":"at","user_id":"ou_bob"}])"));
}

TEST(FeishuMarkupTest, LinkWithoutTextShowsTheUrl) {
  const FeishuContent content = encode_content(with({Link{"", "https://example.com"}}));
  const json::array paragraphs = post_paragraphs(content);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(
      paragraphs[0],
      json::parse(R"([{"tag":"a","text":"https://example.com","href":"https://example.com"}])"));
}

TEST(FeishuMarkupTest, FeishuImageKeyIsAnImgElement) {
  const FeishuContent content = encode_content(with({Text{"chart:"}, Image{"feishu:img_v2_0001"}}));
  EXPECT_EQ(content.msg_type, "post");
  const json::value expected = json::parse(R"({"zh_cn":{"title":"","content":[
      [{"tag":"text","text":"chart:"}],
      [{"tag":"img","image_key":"img_v2_0001"}]]}})");
  EXPECT_EQ(json::parse(content.content), expected);
}

TEST(FeishuMarkupTest, ImageUrlIsALink) {
  // Feishu shows only uploaded images; a URL is linked instead.
  const FeishuContent content = encode_content(with({Image{"https://example.com/a.png"}}));
  EXPECT_EQ(content.msg_type, "post");
  const json::array paragraphs = post_paragraphs(content);
  ASSERT_EQ(paragraphs.size(), 1u);
  EXPECT_EQ(paragraphs[0], json::parse(R"([{"tag":"a","text":"https://example.com/a.png",
                                             "href":"https://example.com/a.png"}])"));
}

// --- user text never mentions anyone -------------------------------------------------------------

TEST(FeishuMarkupTest, AtTagsTypedByAUserStayTextInATextMessage) {
  const FeishuContent content = encode_content(OutgoingMessage::plain(
      R"(Hello, <at user_id="all"></at> <at user_id="ou_x">X</at> <AT USER_ID="all"></AT>)"));
  EXPECT_EQ(content.msg_type, "text");
  const std::string text(json::parse(content.content).at("text").as_string());
  EXPECT_EQ(text.find("<at"), std::string::npos) << text;
  EXPECT_EQ(text.find("<AT"), std::string::npos) << text;
  EXPECT_EQ(text, "Hello, <\u200bat user_id=\"all\"><\u200b/at> <\u200bat user_id=\"ou_x\">X"
                  "<\u200b/at> <\u200bAT USER_ID=\"all\"><\u200b/AT>");
}

TEST(FeishuMarkupTest, AMentionSegmentStillMentionsNextToAttackText) {
  const FeishuContent content = encode_content(
      with({Mention{"ou_alice", "Alice"}, Text{R"( <at user_id="all"></at>)"}}));
  EXPECT_EQ(json::parse(content.content),
            json::value(json::object{{"text", "<at user_id=\"ou_alice\">Alice</at> "
                                              "<\u200bat user_id=\"all\"><\u200b/at>"}}));
}

TEST(FeishuMarkupTest, AMentionNameCannotOpenAnotherTag) {
  const FeishuContent content =
      encode_content(with({Mention{"ou_alice", R"(A</at><at user_id="all">)"}}));
  EXPECT_EQ(json::parse(content.content),
            json::value(json::object{
                {"text", "<at user_id=\"ou_alice\">A<\u200b/at><\u200bat user_id=\"all\"></at>"}}));
}

TEST(FeishuMarkupTest, AtTagsTypedByAUserStayTextInAPost) {
  const FeishuContent content = encode_content(
      with({Text{R"(<at user_id="all"></at>)"}, Mention{"ou_bob", ""}, Markdown{"**x**"}}));
  EXPECT_EQ(content.msg_type, "post");
  const json::value expected = json::parse(R"({"zh_cn":{"title":"","content":[
      [{"tag":"text","text":"<)" "\u200b" R"(at user_id=\"all\"><)" "\u200b" R"(/at>"},
       {"tag":"at","user_id":"ou_bob"}],
      [{"tag":"md","text":"**x**"}]]}})");
  EXPECT_EQ(json::parse(content.content), expected);
}

}  // namespace
}  // namespace botgate::feishu
