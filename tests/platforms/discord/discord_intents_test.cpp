#include "botgate/platforms/discord/discord_intents.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::discord {
namespace {

TEST(DiscordIntentsTest, DefaultSetIsTheNotesExample) {
  // Notes 3.1: 37377 = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT.
  EXPECT_EQ(default_discord_intents(), 37377U);
  EXPECT_EQ(
      default_discord_intent_names(),
      (std::vector<std::string>{"guilds", "guild_messages", "direct_messages", "message_content"}));
}

TEST(DiscordIntentsTest, EveryDocumentedNameHasItsBit) {
  const std::vector<std::pair<std::string, std::uint64_t>> documented{
      {"guilds", 1},
      {"guild_members", 2},
      {"guild_moderation", 4},
      {"guild_expressions", 8},
      {"guild_integrations", 16},
      {"guild_webhooks", 32},
      {"guild_invites", 64},
      {"guild_voice_states", 128},
      {"guild_presences", 256},
      {"guild_messages", 512},
      {"guild_message_reactions", 1024},
      {"guild_message_typing", 2048},
      {"direct_messages", 4096},
      {"direct_message_reactions", 8192},
      {"direct_message_typing", 16384},
      {"message_content", 32768},
      {"guild_scheduled_events", 65536},
      {"auto_moderation_configuration", 1048576},
      {"auto_moderation_execution", 2097152},
      {"guild_message_polls", 16777216},
      {"direct_message_polls", 33554432},
  };
  ASSERT_EQ(all_discord_intents().size(), documented.size());
  for (const auto& [name, bit] : documented) {
    EXPECT_EQ(discord_intents_from_names({name}), bit) << name;
  }
}

TEST(DiscordIntentsTest, NamesAreUniqueAndOnlyThreeArePrivileged) {
  std::set<std::string_view> names;
  std::uint64_t all = 0;
  for (const DiscordIntent& intent : all_discord_intents()) {
    EXPECT_TRUE(names.insert(intent.name).second) << intent.name;
    EXPECT_EQ(all & intent.bit, 0U) << intent.name;
    all |= intent.bit;
    EXPECT_EQ(intent.privileged, !intent.portal_label.empty()) << intent.name;
  }
  std::vector<std::string_view> privileged;
  for (const DiscordIntent& intent : privileged_discord_intents(all)) {
    privileged.push_back(intent.name);
  }
  EXPECT_EQ(privileged,
            (std::vector<std::string_view>{"guild_members", "guild_presences", "message_content"}));
}

TEST(DiscordIntentsTest, NamesCombineAndRepeatsAreHarmless) {
  EXPECT_EQ(discord_intents_from_names({"guilds", "guild_messages", "guilds"}), 513U);
  EXPECT_EQ(discord_intents_from_names({}), 0U);
}

TEST(DiscordIntentsTest, OldNamesAreAccepted) {
  EXPECT_EQ(discord_intents_from_names({"guild_bans"}), 4U);
  EXPECT_EQ(discord_intents_from_names({"guild_emojis_and_stickers"}), 8U);
}

TEST(DiscordIntentsTest, UnknownNameThrowsNamingIt) {
  try {
    (void)discord_intents_from_names({"guilds", "guild_mesages"});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"guild_mesages\""), std::string::npos) << e.what();
  }
}

TEST(DiscordIntentsTest, NamesAreLowerCase) {
  EXPECT_THROW((void)discord_intents_from_names({"GUILD_MESSAGES"}), std::invalid_argument);
}

TEST(DiscordIntentsTest, PrivilegedOfTheDefaultIsMessageContent) {
  const auto privileged = privileged_discord_intents(default_discord_intents());
  ASSERT_EQ(privileged.size(), 1U);
  EXPECT_EQ(privileged[0].name, "message_content");
  EXPECT_EQ(privileged[0].portal_label, "Message Content Intent");
}

}  // namespace
}  // namespace botgate::discord
