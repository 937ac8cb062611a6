#include "botgate/platforms/discord/discord_markup.hpp"

#include "support/segment_printers.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::discord {
namespace {

DiscordContent render(std::vector<Segment> segments) {
  auto content = render_discord_content(segments);
  if (!content) throw std::runtime_error(content.error().message());
  return *content;
}

std::string repeat(std::string_view unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

/// True when `text` is well-formed UTF-8 (no cut sequence at either end).
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3
                                       : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

TEST(DiscordMarkupTest, TextAndMarkdownAreContentAsTheyAre) {
  EXPECT_EQ(render({Text{"a *b* "}, Markdown{"**bold** `code`"}}).content,
            "a *b* **bold** `code`");
}

TEST(DiscordMarkupTest, MentionsAreUserTagsAndAllIsEveryone) {
  const DiscordContent users = render({Mention{"80351110224678912", "nelly"}, Text{" hi"}});
  EXPECT_EQ(users.content, "<@80351110224678912> hi");
  EXPECT_FALSE(users.mentions_everyone);
  const DiscordContent everyone = render({Mention{"all", ""}, Text{" standup"}});
  EXPECT_EQ(everyone.content, "@everyone standup");
  EXPECT_TRUE(everyone.mentions_everyone);
}

TEST(DiscordMarkupTest, LinksAreMaskedUnlessTheTextIsTheUrl) {
  EXPECT_EQ(render({Link{"docs", "https://example.com/a"}}).content,
            "[docs](https://example.com/a)");
  EXPECT_EQ(render({Link{"", "https://example.com/a"}}).content, "https://example.com/a");
  EXPECT_EQ(render({Link{"https://example.com/a", "https://example.com/a"}}).content,
            "https://example.com/a");
  EXPECT_EQ(render({Link{"a [b]", "https://example.com/x_(y)"}}).content,
            "[a \\[b\\]](https://example.com/x_%28y%29)");
}

TEST(DiscordMarkupTest, ImagesBecomeEmbedUrls) {
  const DiscordContent content =
      render({Text{"chart"}, Image{"https://example.com/c.png"}, Image{"HTTP://example.com/d"}});
  EXPECT_EQ(content.content, "chart");
  EXPECT_EQ(content.image_urls,
            (std::vector<std::string>{"https://example.com/c.png", "HTTP://example.com/d"}));
}

TEST(DiscordMarkupTest, AnImageWithoutAWebUrlIsRejectedWithoutTheUrl) {
  const std::vector<Segment> segments{Image{"data:image/png;base64,iVBORw0KGgo="}};
  auto content = render_discord_content(segments);
  ASSERT_FALSE(content);
  EXPECT_TRUE(content.error().is(errc::platform_rejected));
  EXPECT_EQ(content.error().detail.find("base64"), std::string::npos);
  EXPECT_FALSE(render_discord_content({Image{"img_v2_feishu_key"}}));
}

TEST(DiscordMarkupTest, CountsCodePoints) {
  EXPECT_EQ(count_code_points(""), 0u);
  EXPECT_EQ(count_code_points("abc"), 3u);
  EXPECT_EQ(count_code_points("é你😀"), 3u);  // 2, 3 and 4 bytes
}

TEST(DiscordSplitContentTest, ShortTextIsOnePieceAndEmptyTextNone) {
  EXPECT_EQ(split_discord_content("hello"), std::vector<std::string>{"hello"});
  EXPECT_EQ(split_discord_content(std::string(2000, 'a')).size(), 1u);
  EXPECT_TRUE(split_discord_content("").empty());
}

TEST(DiscordSplitContentTest, WithoutSeparatorsCutsAtExactly2000CodePoints) {
  const auto pieces = split_discord_content(std::string(4500, 'a'));
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].size(), 2000u);
  EXPECT_EQ(pieces[1].size(), 2000u);
  EXPECT_EQ(pieces[2].size(), 500u);
}

TEST(DiscordSplitContentTest, CountsCodePointsAndNeverCutsInsideACharacter) {
  for (std::string_view unit : {"é", "你", "😀", "a你😀é"}) {
    const std::string text = repeat(unit, 2600);
    const auto pieces = split_discord_content(text);
    ASSERT_GE(pieces.size(), 2u) << unit;
    std::string joined;
    for (const std::string& piece : pieces) {
      EXPECT_LE(count_code_points(piece), 2000u) << unit;
      EXPECT_TRUE(valid_utf8(piece)) << unit;
      joined += piece;
    }
    EXPECT_EQ(count_code_points(pieces[0]), 2000u) << unit;
    EXPECT_EQ(joined, text) << unit;  // no separator: nothing dropped
  }
  // 2000 code points of 4 bytes is 8000 bytes: one piece.
  EXPECT_EQ(split_discord_content(repeat("😀", 2000)).size(), 1u);
}

TEST(DiscordSplitContentTest, PrefersTheLastNewlineThenTheLastSpace) {
  // A newline at 1500 and spaces after it: the newline wins, and is dropped.
  std::string text = std::string(1500, 'a') + "\n" + repeat("bb ", 300);
  auto pieces = split_discord_content(text);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], std::string(1500, 'a'));
  EXPECT_EQ(pieces[1], repeat("bb ", 300));

  // No newline: the last space in the window.
  text = repeat("word ", 500);  // 2500 characters
  pieces = split_discord_content(text);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].size(), 1999u);  // "word " x 400 minus the space at the cut
  EXPECT_EQ(pieces[0].back(), 'd');
  EXPECT_EQ(pieces[0] + " " + pieces[1], text);
}

TEST(DiscordSplitContentTest, ASeparatorRightAfterTheWindowMakesAFullPiece) {
  const std::string text = std::string(2000, 'a') + "\n" + "tail";
  const auto pieces = split_discord_content(text);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], std::string(2000, 'a'));
  EXPECT_EQ(pieces[1], "tail");
}

TEST(DiscordSplitContentTest, ANewlineEarlyInTheWindowLeavesNoSliver) {
  const std::string text = "title\n" + std::string(3000, 'x');
  const auto pieces = split_discord_content(text);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(count_code_points(pieces[0]), 2000u);
}

TEST(DiscordSplitContentTest, ASmallerLimitWorksWithMultiByteText) {
  const auto pieces = split_discord_content("你好 世界 再见", 5);
  EXPECT_EQ(pieces, (std::vector<std::string>{"你好 世界", "再见"}));
}

TEST(DiscordSplitMessageTest, AMessageWithinTheLimitsStaysWhole) {
  OutgoingMessage m = OutgoingMessage::plain("hello");
  m.segments.emplace_back(Image{"https://example.com/a.png"});
  const auto parts = split_discord_message(m);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0], m);
}

TEST(DiscordSplitMessageTest, LongContentIsSplitAndEmbedsGoLast) {
  OutgoingMessage m;
  m.chat_id = "100";
  m.reply_to = "555";
  m.reply_context = "ctx";
  m.segments = {Mention{"all", ""}, Text{" " + repeat("é", 2500)}};
  for (int i = 0; i < 12; ++i) {
    m.segments.emplace_back(Image{"https://example.com/" + std::to_string(i) + ".png"});
  }
  const auto parts = split_discord_message(m);
  ASSERT_EQ(parts.size(), 3u);  // 2 of text (10 embeds on the second), 1 with 2 images
  for (const OutgoingMessage& part : parts) {
    EXPECT_EQ(part.chat_id, "100");
    EXPECT_EQ(part.reply_to, "555");  // Discord allows a reply on each part
    EXPECT_EQ(part.reply_context, "ctx");
  }
  auto first = render_discord_content(parts[0].segments);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->mentions_everyone);  // "@everyone" still means everyone
  EXPECT_EQ(count_code_points(first->content), 2000u);
  EXPECT_TRUE(first->image_urls.empty());
  auto second = render_discord_content(parts[1].segments);
  ASSERT_TRUE(second);
  EXPECT_EQ(count_code_points(second->content), 2500u + 10u - 2000u);
  EXPECT_EQ(second->image_urls.size(), 10u);
  auto third = render_discord_content(parts[2].segments);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->content.empty());
  EXPECT_EQ(third->image_urls,
            (std::vector<std::string>{"https://example.com/10.png", "https://example.com/11.png"}));
}

// --- user text never mentions anyone -------------------------------------------------------------

TEST(DiscordMarkupTest, OnlyMentionSegmentsAreAllowedToNotify) {
  const DiscordContent content = render({Text{"<@111> <@!222> <@&333> @everyone @here "},
                                         Mention{"444", ""}, Mention{"444", ""}});
  EXPECT_EQ(content.mentioned_users, (std::vector<std::string>{"444"}));
  EXPECT_FALSE(content.mentions_everyone);
  EXPECT_EQ(discord_message_body(content, false).at("allowed_mentions"),
            boost::json::parse(R"({"parse":[],"users":["444"]})"));
  const DiscordContent plain = render({Text{"<@111> @everyone"}});
  EXPECT_EQ(discord_message_body(plain, true).at("allowed_mentions"),
            boost::json::parse(R"({"parse":[],"replied_user":true})"));
}

TEST(DiscordSplitMessageTest, PartsKeepTheMentionedUsersAndNoOthers) {
  OutgoingMessage m;
  m.segments = {Mention{"444", ""}, Text{" <@111> " + repeat("a ", 1500)}, Mention{"555", ""}};
  const auto parts = split_discord_message(m);
  ASSERT_EQ(parts.size(), 2u);
  auto first = render_discord_content(parts[0].segments);
  auto second = render_discord_content(parts[1].segments);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->mentioned_users, (std::vector<std::string>{"444"}));  // not 111
  EXPECT_TRUE(first->content.starts_with("<@444> <@111> a a"));
  EXPECT_EQ(second->mentioned_users, (std::vector<std::string>{"555"}));
}

}  // namespace
}  // namespace botgate::discord
