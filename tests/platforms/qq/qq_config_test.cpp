#include "botgate/platforms/qq/qq_config.hpp"

#include "botgate/platforms/qq/qq_intents.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::qq {
namespace {

const std::string kAppId = "102000000";
const std::string kSecret = "DG5g3B4j9X2KOErG";

BotSettings settings(std::map<std::string, SettingValue> values) {
  BotSettings s;
  s.name = "qq-bot";
  s.platform = "qq";
  s.values = std::move(values);
  return s;
}

std::map<std::string, SettingValue> minimal() {
  return {{"app_id", kAppId}, {"app_secret", kSecret}};
}

/// The message of the std::invalid_argument that reading `s` throws, or "" when it does not.
std::string rejection(const BotSettings& s) {
  try {
    (void)qq_config_from(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(QqConfigTest, AppIdAndSecretAreEnough) {
  const QqConfig config = qq_config_from(settings(minimal()));
  EXPECT_EQ(config.bot_name, "qq-bot");
  EXPECT_EQ(config.api_base, "https://api.sgroup.qq.com");
  EXPECT_EQ(config.token_url, "https://bots.qq.com/app/getAppAccessToken");
  EXPECT_EQ(config.app_id, kAppId);
  EXPECT_EQ(config.app_secret, kSecret);
  EXPECT_EQ(config.mode, QqMode::gateway);
  EXPECT_FALSE(config.receives_callbacks());
  EXPECT_EQ(config.intents, default_qq_intents());
  EXPECT_FALSE(config.sandbox);
  EXPECT_EQ(config.shard_count, 0);
  EXPECT_TRUE(config.shards.empty());
}

TEST(QqConfigTest, EveryKeyIsRead) {
  auto values = minimal();
  values["mode"] = std::string("webhook");
  values["token_url"] = std::string("http://127.0.0.1:9/token");
  values["intents"] = std::vector<std::string>{"group_and_c2c_event"};
  values["shard_count"] = std::int64_t{4};
  values["shards"] = std::vector<std::int64_t>{3, 1};
  BotSettings s = settings(values);
  s.api_base = "http://127.0.0.1:8/api/";
  const QqConfig config = qq_config_from(s);
  EXPECT_EQ(config.api_base, "http://127.0.0.1:8/api");
  EXPECT_EQ(config.token_url, "http://127.0.0.1:9/token");
  EXPECT_EQ(config.mode, QqMode::webhook);
  EXPECT_TRUE(config.receives_callbacks());
  EXPECT_EQ(config.intents, std::uint64_t{1} << 25);
  EXPECT_EQ(config.shard_count, 4);
  EXPECT_EQ(config.shards, (std::vector<int>{3, 1}));
}

TEST(QqConfigTest, SandboxChangesOnlyTheDefaultApiBase) {
  auto values = minimal();
  values["sandbox"] = true;
  EXPECT_EQ(qq_config_from(settings(values)).api_base, "https://sandbox.api.sgroup.qq.com");
  EXPECT_TRUE(qq_config_from(settings(values)).sandbox);

  BotSettings s = settings(values);
  s.api_base = "https://proxy.example/qq";
  EXPECT_EQ(qq_config_from(s).api_base, "https://proxy.example/qq");
}

TEST(QqConfigTest, ModeNamesRoundTrip) {
  for (const QqMode mode : {QqMode::gateway, QqMode::webhook}) {
    EXPECT_EQ(qq_mode_from_string(to_string(mode)), mode);
  }
  EXPECT_FALSE(qq_mode_from_string("websocket"));
  EXPECT_FALSE(qq_mode_from_string(""));
}

TEST(QqConfigTest, AppIdAndSecretAreRequired) {
  EXPECT_NE(rejection(settings({{"app_secret", kSecret}})).find("app_id is required"),
            std::string::npos);
  EXPECT_NE(rejection(settings({{"app_id", kAppId}})).find("app_secret is required"),
            std::string::npos);
  EXPECT_NE(rejection(settings({{"app_id", kAppId}, {"app_secret", std::string()}}))
                .find("app_secret"),
            std::string::npos);
}

TEST(QqConfigTest, AnUnsetVariableSkipsTheBot) {
  BotSettings s = settings({{"app_id", kAppId}, {"app_secret", std::string()}});
  s.unset_variables["app_secret"] = "QQ_SECRET";
  try {
    (void)qq_config_from(s);
    FAIL() << "expected BotSkipped";
  } catch (const BotSkipped& e) {
    EXPECT_EQ(e.variable(), "QQ_SECRET");
  }
}

TEST(QqConfigTest, BadValuesAreRefusedNamingTheKeyButNotTheSecret) {
  struct Case {
    std::string key;
    SettingValue value;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"app_id", std::string("abc"), "app_id"},
      {"mode", std::string("websocket"), "mode"},
      {"token_url", std::string("bots.qq.com/app/getAppAccessToken"), "token_url"},
      {"intents", std::vector<std::string>{"no_such_intent"}, "intents"},
      {"shard_count", std::int64_t{-1}, "shard_count"},
  };
  for (const Case& c : cases) {
    auto values = minimal();
    values[c.key] = c.value;
    const std::string what = rejection(settings(values));
    EXPECT_NE(what.find(c.expected), std::string::npos) << c.key << ": " << what;
    EXPECT_EQ(what.find(kSecret), std::string::npos) << what;
  }
}

TEST(QqConfigTest, ShardsAreChecked) {
  auto with_shards = [](std::int64_t count, std::vector<std::int64_t> ids) {
    auto values = minimal();
    values["shard_count"] = count;
    values["shards"] = std::move(ids);
    return rejection(settings(values));
  };
  EXPECT_NE(with_shards(2, {2}).find("not below shard_count"), std::string::npos);
  EXPECT_NE(with_shards(0, {-1}).find("negative"), std::string::npos);
  EXPECT_NE(with_shards(4, {1, 1}).find("listed twice"), std::string::npos);
  EXPECT_EQ(with_shards(0, {7}), "");
}

TEST(QqConfigTest, SettingsListEveryKey) {
  std::vector<std::string> keys;
  for (const SettingSpec& spec : qq_settings()) keys.push_back(spec.key);
  for (const char* key : {"app_id", "app_secret", "mode", "token_url", "intents", "sandbox",
                          "shard_count", "shards"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  }
}

}  // namespace
}  // namespace botgate::qq
