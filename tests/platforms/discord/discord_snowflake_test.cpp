#include "botgate/platforms/discord/discord_snowflake.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace botgate::discord {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(DiscordSnowflakeTest, TheDocumentedExample) {
  // reference.mdx "Snowflake ID Broken Down in Binary": 175928847299117063 was made at
  // 2016-04-30 11:18:25.796 UTC.
  EXPECT_EQ(snowflake_time("175928847299117063"),
            system_clock::time_point(milliseconds(1'462'015'105'796)));
}

TEST(DiscordSnowflakeTest, ZeroIsTheDiscordEpoch) {
  EXPECT_EQ(snowflake_time("0"), system_clock::time_point(milliseconds(kDiscordEpochMs)));
  EXPECT_EQ(snowflake_time("4194304"),  // 1 << 22: one millisecond later
            system_clock::time_point(milliseconds(kDiscordEpochMs + 1)));
}

TEST(DiscordSnowflakeTest, NotASnowflakeGivesTheZeroTime) {
  for (const char* id : {"", "abc", "12a", "-1", " 1", "1 ", "18446744073709551616"}) {
    EXPECT_EQ(snowflake_time(id), system_clock::time_point{}) << '"' << id << '"';
  }
}

}  // namespace
}  // namespace botgate::discord
