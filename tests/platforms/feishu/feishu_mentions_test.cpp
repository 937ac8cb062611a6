#include "botgate/platforms/feishu/feishu_webhook.hpp"

#include "support/segment_printers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::feishu {
namespace {

const std::string kBot = "ou_bot";

MentionKey bot_key(std::string key = "@_user_1") {
  return {std::move(key), kBot, "", "botgate"};
}

MentionKey user_key(std::string key, std::string open_id, std::string name) {
  return {std::move(key), std::move(open_id), "u_" + open_id, std::move(name)};
}

/// The text the segments read as: bot mentions are not in the text, others are "@name".
std::string render(const std::vector<Segment>& segments, const std::string& bot_open_id) {
  std::string out;
  for (const Segment& segment : segments) {
    if (const auto* text = std::get_if<Text>(&segment)) {
      out += text->text;
    } else if (const auto* mention = std::get_if<Mention>(&segment)) {
      if (mention->user_id != bot_open_id) {
        out += "@" + mention->name;
      }
    }
  }
  return out;
}

bool has_empty_text(const std::vector<Segment>& segments) {
  for (const Segment& segment : segments) {
    if (const auto* text = std::get_if<Text>(&segment); text != nullptr && text->text.empty()) {
      return true;
    }
  }
  return false;
}

TEST(FeishuMentionsTest, BotKeyIsRemovedWithTheSpaceAfterIt) {
  const StrippedText out = strip_mentions("@_user_1 ping", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "ping");
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{kBot, "botgate"}, Text{"ping"}}));
}

TEST(FeishuMentionsTest, BotKeyInTheMiddleLeavesOneSpace) {
  const StrippedText out = strip_mentions("hey @_user_1 ping", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "hey ping");
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(out.segments,
            (std::vector<Segment>{Text{"hey "}, Mention{kBot, "botgate"}, Text{"ping"}}));
}

TEST(FeishuMentionsTest, BotKeyAtTheEndIsRemoved) {
  const StrippedText out = strip_mentions("ping @_user_1", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "ping");
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(render(out.segments, kBot), out.text);
}

TEST(FeishuMentionsTest, OtherKeysBecomeAtName) {
  const std::vector<MentionKey> mentions{user_key("@_user_1", "ou_alice", "Alice")};
  const StrippedText out = strip_mentions("thanks @_user_1 for the fix", mentions, kBot);
  EXPECT_EQ(out.text, "thanks @Alice for the fix");
  EXPECT_FALSE(out.mentions_bot);
  EXPECT_EQ(out.segments, (std::vector<Segment>{Text{"thanks "}, Mention{"ou_alice", "Alice"},
                                                Text{" for the fix"}}));
}

TEST(FeishuMentionsTest, OtherKeyWithoutANameUsesTheOpenId) {
  const std::vector<MentionKey> mentions{user_key("@_user_1", "ou_alice", "")};
  EXPECT_EQ(strip_mentions("cc @_user_1", mentions, kBot).text, "cc @ou_alice");
}

TEST(FeishuMentionsTest, BotAndOtherMentionsTogether) {
  const std::vector<MentionKey> mentions{bot_key(), user_key("@_user_2", "ou_alice", "Alice")};
  const StrippedText out = strip_mentions("@_user_1 ask @_user_2", mentions, kBot);
  EXPECT_EQ(out.text, "ask @Alice");
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{kBot, "botgate"}, Text{"ask "},
                                                Mention{"ou_alice", "Alice"}}));
}

TEST(FeishuMentionsTest, LongestKeyWins) {
  std::vector<MentionKey> mentions;
  for (int i = 1; i <= 10; ++i) {
    mentions.push_back(user_key("@_user_" + std::to_string(i), "ou_" + std::to_string(i),
                                "User" + std::to_string(i)));
  }
  const StrippedText out = strip_mentions("@_user_10 and @_user_1", mentions, kBot);
  EXPECT_EQ(out.text, "@User10 and @User1");
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{"ou_10", "User10"}, Text{" and "},
                                                Mention{"ou_1", "User1"}}));
}

TEST(FeishuMentionsTest, UnknownBotOpenIdClaimsNoMention) {
  // Before /bot/v3/info answered nothing tells the bot's mention from anyone else's: users have
  // no user_id either when the app lacks the contact scope, other apps never have one. Every
  // mention stays a mention (segment and "@name"), and none counts as addressing the bot.
  const std::vector<MentionKey> mentions{{"@_user_1", "ou_app", "", "botgate"},
                                         {"@_user_2", "ou_alice", "", "Alice"}};
  const StrippedText out = strip_mentions("@_user_1 hi @_user_2", mentions, "");
  EXPECT_FALSE(out.mentions_bot);
  EXPECT_EQ(out.text, "@botgate hi @Alice");
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{"ou_app", "botgate"}, Text{" hi "},
                                                Mention{"ou_alice", "Alice"}}));

  const StrippedText user_only = strip_mentions("@_user_2 look", mentions, "");
  EXPECT_FALSE(user_only.mentions_bot);
  EXPECT_EQ(user_only.text, "@Alice look");
  EXPECT_EQ(user_only.segments,
            (std::vector<Segment>{Mention{"ou_alice", "Alice"}, Text{" look"}}));
}

TEST(FeishuMentionsTest, KnownBotOpenIdIgnoresMentionsOfOtherApps) {
  // Another bot in the group has no user_id either; with our open_id known it is not us.
  const std::vector<MentionKey> mentions{{"@_user_1", "ou_other_app", "", "otherbot"}};
  const StrippedText out = strip_mentions("@_user_1 hi", mentions, kBot);
  EXPECT_FALSE(out.mentions_bot);
  EXPECT_EQ(out.text, "@otherbot hi");
}

TEST(FeishuMentionsTest, TextIsTrimmed) {
  const StrippedText out = strip_mentions("  @_user_1   hello  \n", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "hello");
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{kBot, "botgate"}, Text{"hello"}}));

  const StrippedText plain = strip_mentions("\t plain text \r\n", {}, kBot);
  EXPECT_EQ(plain.text, "plain text");
  EXPECT_FALSE(plain.mentions_bot);
  EXPECT_EQ(plain.segments, (std::vector<Segment>{Text{"plain text"}}));
}

TEST(FeishuMentionsTest, OnlyTheBotMentionLeavesNoText) {
  const StrippedText out = strip_mentions("@_user_1", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "");
  EXPECT_TRUE(out.mentions_bot);
  EXPECT_EQ(out.segments, (std::vector<Segment>{Mention{kBot, "botgate"}}));
}

TEST(FeishuMentionsTest, UnmatchedAtSignsAndUnknownKeysStayText) {
  const StrippedText out = strip_mentions("mail me @ home, @_user_9", {bot_key()}, kBot);
  EXPECT_EQ(out.text, "mail me @ home, @_user_9");
  EXPECT_FALSE(out.mentions_bot);
  EXPECT_EQ(out.segments, (std::vector<Segment>{Text{"mail me @ home, @_user_9"}}));
}

TEST(FeishuMentionsTest, SegmentsReadAsTheText) {
  const std::vector<MentionKey> mentions{bot_key(), user_key("@_user_2", "ou_alice", "Alice"),
                                         user_key("@_user_3", "ou_bob", "Bob")};
  const std::vector<std::string> inputs{
      "@_user_1 ping",
      "ping @_user_1",
      "  hi @_user_2 and @_user_3  ",
      "@_user_2 @_user_1 look",
      "x @_user_1 y @_user_2 z @_user_1",
      "   @_user_1   ",
      "@_user_2",
      " a  b ",
  };
  for (const std::string& input : inputs) {
    const StrippedText out = strip_mentions(input, mentions, kBot);
    EXPECT_EQ(render(out.segments, kBot), out.text) << "input: \"" << input << "\"";
    EXPECT_FALSE(has_empty_text(out.segments)) << "input: \"" << input << "\"";
  }
}

}  // namespace
}  // namespace botgate::feishu
