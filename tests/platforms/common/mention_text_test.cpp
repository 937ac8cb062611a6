#include "botgate/platforms/common/mention_text.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <variant>

namespace botgate::platforms {
namespace {

boost::json::object message_with_mentions(std::string_view mentions_json) {
  return boost::json::parse(std::string(R"({"mentions":)") + std::string(mentions_json) + "}")
      .as_object();
}

const Mention& mention_at(const MentionText& text, std::size_t index) {
  return std::get<Mention>(text.segments.at(index));
}

const std::string& text_at(const MentionText& text, std::size_t index) {
  return std::get<Text>(text.segments.at(index)).text;
}

TEST(SplitMentionsTest, TheBotsMentionIsRemovedAndOthersReadAsNames) {
  const auto message = message_with_mentions(R"([{"id":"42","username":"bot"},
                                                 {"id":"7","username":"alice"}])");
  const MentionText out = split_mentions("<@42> hi <@!7> and <@8>", message, "42", {});
  EXPECT_EQ(out.text, "hi @alice and @8");
  EXPECT_TRUE(out.mentions_bot);
  ASSERT_EQ(out.segments.size(), 5u);
  EXPECT_EQ(mention_at(out, 0).user_id, "42");
  EXPECT_EQ(text_at(out, 1), "hi ");
  EXPECT_EQ(mention_at(out, 2).user_id, "7");
  EXPECT_EQ(mention_at(out, 2).name, "alice");
  EXPECT_EQ(text_at(out, 3), " and ");
  EXPECT_EQ(mention_at(out, 4).user_id, "8");
}

TEST(SplitMentionsTest, NoMentionOfTheBotIsNoMention) {
  const MentionText out = split_mentions("  hello <@9>  ", message_with_mentions("[]"), "42", {});
  EXPECT_EQ(out.text, "hello @9");
  EXPECT_FALSE(out.mentions_bot);
}

TEST(SplitMentionsTest, TheMentionsListCountsWhenTheTextDoesNotShowIt) {
  const auto message = message_with_mentions(R"([{"id":"42","username":"bot"}])");
  EXPECT_TRUE(split_mentions("hello", message, "42", {}).mentions_bot);
  EXPECT_FALSE(split_mentions("hello", message, "", {}).mentions_bot);  // id not known yet
}

TEST(SplitMentionsTest, IdsAreDigitsUnlessTheDialectSaysOtherwise) {
  const auto none = message_with_mentions("[]");
  EXPECT_EQ(split_mentions("<@abc1> x", none, "", {}).text, "<@abc1> x");
  MentionSyntax qq;
  qq.alphanumeric_ids = true;
  const MentionText out = split_mentions("<@abc1> x", none, "abc1", qq);
  EXPECT_EQ(out.text, "x");
  EXPECT_TRUE(out.mentions_bot);
}

TEST(SplitMentionsTest, NonBreakingSpaceIsTrimmedOnlyWhereTheDialectSaysSo) {
  const auto none = message_with_mentions("[]");
  const std::string content = "<@42>\xC2\xA0hi\xC2\xA0";
  EXPECT_EQ(split_mentions(content, none, "42", {}).text, "\xC2\xA0hi\xC2\xA0");
  MentionSyntax qq;
  qq.nbsp_is_space = true;
  const MentionText out = split_mentions(content, none, "42", qq);
  EXPECT_EQ(out.text, "hi");
  ASSERT_EQ(out.segments.size(), 2u);
  EXPECT_EQ(text_at(out, 1), "hi");
}

TEST(SplitMentionsTest, EscapedTokensAreTextNotMentions) {
  MentionSyntax guild;
  guild.unescape_entities = true;
  const MentionText out =
      split_mentions("&lt;@!1&gt; &amp; <@2>", message_with_mentions("[]"), "9", guild);
  EXPECT_EQ(out.text, "<@!1> & @2");
  ASSERT_EQ(out.segments.size(), 2u);
  EXPECT_EQ(text_at(out, 0), "<@!1> & ");
  EXPECT_EQ(mention_at(out, 1).user_id, "2");
}

TEST(SplitMentionsTest, ALeadingMentionIsTheBotsOnlyWhenTheDialectSaysSo) {
  const auto none = message_with_mentions("[]");
  EXPECT_FALSE(split_mentions(" <@5> hi <@6>", none, "", {}).mentions_bot);
  MentionSyntax at_message;
  at_message.leading_mention_is_bot = true;
  const MentionText out = split_mentions(" <@5> hi <@6>", none, "", at_message);
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(out.text, "hi @6");
}

}  // namespace
}  // namespace botgate::platforms
