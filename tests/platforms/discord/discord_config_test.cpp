#include "botgate/platforms/discord/discord_config.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/discord/discord_intents.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::discord {
namespace {

const std::string kToken = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
const std::string kAppId = "123456789012345678";
// Discord notes section 7: the public key of the seed 0x01 vector.
const std::string kPublicKeyHex =
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

BotSettings settings(std::map<std::string, SettingValue> values) {
  BotSettings s;
  s.name = "discord";
  s.platform = "discord";
  s.values = std::move(values);
  return s;
}

/// The settings of an interactions-only bot (no gateway, no token).
std::map<std::string, SettingValue> interactions_only() {
  return {{"gateway", false}, {"application_id", kAppId}, {"public_key", kPublicKeyHex}};
}

/// The message of the std::invalid_argument that reading `s` throws, or "" when it does not.
std::string rejection(const BotSettings& s) {
  try {
    (void)discord_config_from(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(DiscordConfigTest, AGatewayBotNeedsOnlyItsToken) {
  const DiscordConfig config = discord_config_from(settings({{"token", kToken}}));
  EXPECT_EQ(config.bot_name, "discord");
  EXPECT_EQ(config.api_base, "https://discord.com/api/v10");
  EXPECT_EQ(config.token, kToken);
  EXPECT_TRUE(config.gateway);
  EXPECT_FALSE(config.receives_interactions());
  EXPECT_EQ(config.intents, default_discord_intents());
  EXPECT_EQ(config.shard_count, 0);
  EXPECT_TRUE(config.shards.empty());
  EXPECT_EQ(config.requests_per_second, 50) << "Discord's global limit";
}

TEST(DiscordConfigTest, EveryKeyIsRead) {
  BotSettings s = settings({{"token", kToken},
                            {"application_id", kAppId},
                            {"public_key", kPublicKeyHex},
                            {"intents", std::vector<std::string>{"guilds", "guild_messages"}},
                            {"shard_count", std::int64_t{4}},
                            {"shards", std::vector<std::int64_t>{3, 1}},
                            {"gateway", true},
                            {"requests_per_second", std::int64_t{500}}});
  s.api_base = "http://127.0.0.1:9000/api/";
  const DiscordConfig config = discord_config_from(s);
  EXPECT_EQ(config.api_base, "http://127.0.0.1:9000/api");
  EXPECT_EQ(config.application_id, kAppId);
  ASSERT_EQ(config.public_key.size(), 32u);
  EXPECT_EQ(crypto::to_hex(config.public_key), kPublicKeyHex);
  EXPECT_TRUE(config.receives_interactions());
  EXPECT_EQ(config.intents, 1u | 512u);
  EXPECT_EQ(config.shard_count, 4);
  EXPECT_EQ(config.shards, (std::vector<int>{3, 1}));
  EXPECT_EQ(config.requests_per_second, 500);
}

TEST(DiscordConfigTest, RequestsPerSecondIsAtLeastOne) {
  EXPECT_EQ(rejection(settings({{"token", kToken}, {"requests_per_second", std::int64_t{0}}}))
                .rfind("requests_per_second must be at least 1", 0),
            0u);
}

TEST(DiscordConfigTest, APublicKeyInUpperCaseIsAccepted) {
  auto values = interactions_only();
  std::string upper = kPublicKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  values["public_key"] = upper;
  EXPECT_EQ(crypto::to_hex(discord_config_from(settings(values)).public_key), kPublicKeyHex);
}

TEST(DiscordConfigTest, AnEmptyIntentListMeansNoIntents) {
  const auto config = discord_config_from(
      settings({{"token", kToken}, {"intents", std::vector<std::string>{}}}));
  EXPECT_EQ(config.intents, 0u);
}

TEST(DiscordConfigTest, AnUnknownIntentIsNamed) {
  const std::string message = rejection(
      settings({{"token", kToken}, {"intents", std::vector<std::string>{"guilds", "GUILDS"}}}));
  EXPECT_EQ(message.rfind("intents: ", 0), 0u) << message;
  EXPECT_NE(message.find("\"GUILDS\""), std::string::npos) << message;
}

TEST(DiscordConfigTest, TheTokenIsRequiredWithTheGateway) {
  const std::string message = rejection(settings({}));
  EXPECT_EQ(message.rfind("token is required", 0), 0u) << message;
  EXPECT_NE(message.find("gateway = false"), std::string::npos) << message;
  // An empty string is as good as none.
  EXPECT_EQ(rejection(settings({{"token", std::string()}})).rfind("token is required", 0), 0u);
}

TEST(DiscordConfigTest, AnUnsetTokenVariableSkipsTheBot) {
  BotSettings s = settings({{"token", std::string()}});
  s.unset_variables["token"] = "DISCORD_TOKEN";
  try {
    (void)discord_config_from(s);
    FAIL() << "no BotSkipped";
  } catch (const BotSkipped& skipped) {
    EXPECT_EQ(skipped.variable(), "DISCORD_TOKEN");
  }
}

TEST(DiscordConfigTest, AnInteractionsOnlyBotNeedsNoToken) {
  const DiscordConfig config = discord_config_from(settings(interactions_only()));
  EXPECT_FALSE(config.gateway);
  EXPECT_TRUE(config.token.empty());
  EXPECT_TRUE(config.receives_interactions());
}

TEST(DiscordConfigTest, WithoutGatewayAPublicKeyIsRequired) {
  EXPECT_EQ(rejection(settings({{"gateway", false}, {"token", kToken}})),
            "the bot neither connects to the gateway nor has a public_key: set one");
  // ... and an unset variable for it skips the bot rather than failing the whole config.
  BotSettings s = settings({{"gateway", false}, {"public_key", std::string()}});
  s.unset_variables["public_key"] = "DISCORD_PUBLIC_KEY";
  EXPECT_THROW((void)discord_config_from(s), BotSkipped);
}

TEST(DiscordConfigTest, APublicKeyNeedsTheApplicationId) {
  auto values = interactions_only();
  values.erase("application_id");
  const std::string message = rejection(settings(values));
  EXPECT_EQ(message.rfind("application_id is required with public_key", 0), 0u) << message;

  BotSettings unset = settings(values);
  unset.values["application_id"] = std::string();
  unset.unset_variables["application_id"] = "DISCORD_APP_ID";
  EXPECT_THROW((void)discord_config_from(unset), BotSkipped);
}

TEST(DiscordConfigTest, AnApplicationIdIsASnowflake) {
  auto values = interactions_only();
  values["application_id"] = std::string("my-app");
  EXPECT_EQ(rejection(settings(values)).rfind("application_id must be the numeric", 0), 0u);
}

TEST(DiscordConfigTest, APublicKeyMustBe64HexDigits) {
  const std::vector<std::string> bad{
      kPublicKeyHex.substr(0, 62),                 // too short
      kPublicKeyHex + "00",                        // too long
      "zz" + kPublicKeyHex.substr(2),              // not hex
      "base64+/==" + kPublicKeyHex.substr(10),     // the right length, not hex
  };
  for (const std::string& key : bad) {
    auto values = interactions_only();
    values["public_key"] = key;
    const std::string message = rejection(settings(values));
    EXPECT_EQ(message.rfind("public_key must be the 64 hex digits", 0), 0u)
        << key << " -> " << message;
  }
}

TEST(DiscordConfigTest, ShardCountIsZeroOrMore) {
  EXPECT_EQ(rejection(settings({{"token", kToken}, {"shard_count", std::int64_t{-1}}}))
                .rfind("shard_count must be 0", 0),
            0u);
  EXPECT_EQ(rejection(settings({{"token", kToken}, {"shard_count", std::int64_t{1} << 40}})),
            "shard_count is too large");
}

TEST(DiscordConfigTest, ShardIdsAreBelowShardCountAndDistinct) {
  const auto with_shards = [](std::int64_t count, std::vector<std::int64_t> ids) {
    return settings({{"token", kToken}, {"shard_count", count}, {"shards", std::move(ids)}});
  };
  EXPECT_EQ(rejection(with_shards(2, {0, 2})),
            "shards: shard id 2 is not below shard_count (2)");
  EXPECT_EQ(rejection(with_shards(4, {1, 3, 1})), "shards: shard id 1 is listed twice");
  EXPECT_EQ(rejection(with_shards(4, {-1})), "shards: shard id -1 is negative");
  EXPECT_EQ(rejection(with_shards(0, {std::int64_t{1} << 40})),
            "shards: shard id 1099511627776 is too large");
  // Without a shard_count the ids wait for Discord's recommended count.
  EXPECT_EQ(discord_config_from(with_shards(0, {7, 2})).shards, (std::vector<int>{7, 2}));
}

TEST(DiscordConfigTest, ErrorsNeverRepeatTheToken) {
  BotSettings s = settings({{"token", kToken}, {"shard_count", std::int64_t{-3}}});
  EXPECT_EQ(rejection(s).find(kToken), std::string::npos);
}

TEST(DiscordConfigTest, SettingsListEveryKeyWithItsType) {
  const std::map<std::string, SettingType> expected{
      {"token", SettingType::string},        {"application_id", SettingType::string},
      {"public_key", SettingType::string},   {"intents", SettingType::string_list},
      {"shard_count", SettingType::integer}, {"shards", SettingType::integer_list},
      {"gateway", SettingType::boolean}, {"requests_per_second", SettingType::integer},
  };
  std::map<std::string, SettingType> actual;
  for (const SettingSpec& spec : discord_settings()) {
    actual[spec.key] = spec.type;
    // None is required by itself: which are depends on `gateway`.
    EXPECT_FALSE(spec.required) << spec.key;
  }
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace botgate::discord
