#include "botgate/platforms/common/user_text.hpp"

#include <gtest/gtest.h>

namespace botgate::platforms {
namespace {

TEST(BreakTokensTest, SplitsEachTokenAfterItsFirstByte) {
  EXPECT_EQ(break_tokens(R"(<at user_id="all"></at>)", {"<at"}),
            "<\u200bat user_id=\"all\"></at>");
  EXPECT_EQ(break_tokens("hi @everyone and @everyone", {"@everyone"}),
            "hi @\u200beveryone and @\u200beveryone");
  EXPECT_EQ(break_tokens("<@1> <#2>", {"<"}), "<\u200b@1> <\u200b#2>");
}

TEST(BreakTokensTest, LettersAreComparedWithoutCase) {
  EXPECT_EQ(break_tokens("<AT user_id=all> @EveryOne", {"<at", "@everyone"}),
            "<\u200bAT user_id=all> @\u200bEveryOne");
}

TEST(BreakTokensTest, TextWithoutTokensIsUnchanged) {
  EXPECT_EQ(break_tokens("", {"<"}), "");
  EXPECT_EQ(break_tokens("a < b, 你好 @every one", {"<at", "@everyone"}),
            "a < b, 你好 @every one");
  EXPECT_EQ(break_tokens("@everyon", {"@everyone"}), "@everyon");  // cut short at the end
}

TEST(BreakTokensTest, ASecondPassChangesNothing) {
  const std::string once = break_tokens("<@!1> @all <<", {"<", "@all"});
  EXPECT_EQ(once, "<\u200b@!1> @\u200ball <\u200b<\u200b");
  EXPECT_EQ(break_tokens(once, {"<", "@all"}), once);
}

TEST(EscapeHtmlEntitiesTest, EscapesAmpersandAndAngleBrackets) {
  EXPECT_EQ(escape_html_entities("<@!1> & <#2> &lt;"), "&lt;@!1&gt; &amp; &lt;#2&gt; &amp;lt;");
  EXPECT_EQ(escape_html_entities("plain \"text\""), "plain \"text\"");
}

}  // namespace
}  // namespace botgate::platforms
