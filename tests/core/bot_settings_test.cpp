#include "botgate/core/bot_settings.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace botgate {
namespace {

BotSettings sample() {
  BotSettings bot;
  bot.values["s"] = std::string("v");
  bot.values["i"] = std::int64_t{7};
  bot.values["b"] = true;
  bot.values["l"] = std::vector<std::string>{"x", "y"};
  bot.values["n"] = std::vector<std::int64_t>{0, 3};
  return bot;
}

TEST(BotSettingsTest, GettersReturnStoredValues) {
  const auto bot = sample();
  EXPECT_EQ(bot.get_string("s"), "v");
  EXPECT_EQ(bot.get_int("i"), 7);
  EXPECT_TRUE(bot.get_bool("b"));
  EXPECT_EQ(bot.get_list("l"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(bot.get_int_list("n"), (std::vector<std::int64_t>{0, 3}));
}

TEST(BotSettingsTest, GettersFallBackWhenAbsent) {
  const auto bot = sample();
  EXPECT_EQ(bot.get_string("missing"), "");
  EXPECT_EQ(bot.get_string("missing", "fb"), "fb");
  EXPECT_EQ(bot.get_int("missing", 3), 3);
  EXPECT_TRUE(bot.get_bool("missing", true));
  EXPECT_TRUE(bot.get_list("missing").empty());
  EXPECT_TRUE(bot.get_int_list("missing").empty());
}

TEST(BotSettingsTest, GettersFallBackOnAnotherType) {
  const auto bot = sample();
  EXPECT_EQ(bot.get_string("i", "fb"), "fb");
  EXPECT_EQ(bot.get_int("s", -1), -1);
  EXPECT_FALSE(bot.get_bool("s"));
  EXPECT_TRUE(bot.get_list("s").empty());
  // A list of strings is not a list of integers, nor the other way round.
  EXPECT_TRUE(bot.get_int_list("l").empty());
  EXPECT_TRUE(bot.get_list("n").empty());
}

}  // namespace
}  // namespace botgate
