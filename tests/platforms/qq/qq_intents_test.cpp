#include "botgate/platforms/qq/qq_intents.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace botgate::qq {
namespace {

TEST(QqIntentsTest, EveryNameHasTheBitOfTheNotes) {
  // QQ notes 4.4.
  const std::vector<std::pair<std::string, std::uint64_t>> documented{
      {"guilds", 1},
      {"guild_members", 2},
      {"guild_messages", 512},
      {"guild_message_reactions", 1024},
      {"direct_message", 4096},
      {"group_and_c2c_event", 33554432},
      {"interaction", 67108864},
      {"message_audit", 134217728},
      {"forums_event", 268435456},
      {"audio_action", 536870912},
      {"public_guild_messages", 1073741824},
  };
  ASSERT_EQ(all_qq_intents().size(), documented.size());
  for (const auto& [name, bit] : documented) {
    EXPECT_EQ(qq_intents_from_names({name}), bit) << name;
  }
}

TEST(QqIntentsTest, DefaultSetIsThePublicChatBotSet) {
  // Notes 4.4: 1<<25 for groups and single chats, plus 1<<30 | 1<<12 for guild @ and DMs.
  EXPECT_EQ(default_qq_intents(), (1ULL << 30) | (1ULL << 12) | (1ULL << 25));
  EXPECT_EQ(default_qq_intents(), 1107300352U);
  EXPECT_EQ(default_qq_intent_names(),
            (std::vector<std::string>{"public_guild_messages", "direct_message",
                                      "group_and_c2c_event"}));
}

TEST(QqIntentsTest, NamesCombineAndRepeatsAreHarmless) {
  EXPECT_EQ(qq_intents_from_names({"guilds", "guild_members", "guilds"}), 3U);
  EXPECT_EQ(qq_intents_from_names({}), 0U);
}

TEST(QqIntentsTest, UnknownNameIsAnErrorNamingIt) {
  try {
    (void)qq_intents_from_names({"guilds", "direct_messages"});  // Discord's spelling
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"direct_messages\""), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)qq_intents_from_names({"GUILDS"}), std::invalid_argument);
}

TEST(QqIntentsTest, MaskReadsBackAsNames) {
  EXPECT_EQ(qq_intent_names(default_qq_intents()),
            (std::vector<std::string>{"direct_message", "group_and_c2c_event",
                                      "public_guild_messages"}));
  EXPECT_TRUE(qq_intent_names(0).empty());
  EXPECT_EQ(all_qq_intents()[0].allowed_by_default, true);
}

}  // namespace
}  // namespace botgate::qq
