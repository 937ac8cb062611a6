#include "botgate/platforms/common/json_fields.hpp"

#include <gtest/gtest.h>

namespace botgate::platforms {
namespace {

TEST(JsonFieldsTest, ReadsFieldsOfTheRightTypeOnly) {
  const auto o = parse_object(
      R"({"s":"text","n":42,"u":18446744073709551615,"neg":-1,"o":{"k":"v"},"f":1.5})");
  ASSERT_TRUE(o);
  EXPECT_EQ(string_at(*o, "s"), "text");
  EXPECT_EQ(string_at(*o, "n"), "");
  EXPECT_EQ(string_at(*o, "missing"), "");
  EXPECT_EQ(int_at(*o, "n"), 42);
  EXPECT_EQ(int_at(*o, "neg"), -1);
  EXPECT_EQ(int_at(*o, "u"), std::nullopt);  // does not fit
  EXPECT_EQ(int_at(*o, "f"), std::nullopt);
  EXPECT_EQ(int_at(*o, "s"), std::nullopt);
  ASSERT_NE(object_at(*o, "o"), nullptr);
  EXPECT_EQ(string_at(*object_at(*o, "o"), "k"), "v");
  EXPECT_EQ(object_at(*o, "s"), nullptr);
}

TEST(JsonFieldsTest, OnlyAnObjectParses) {
  EXPECT_FALSE(parse_object("[1]"));
  EXPECT_FALSE(parse_object("\"s\""));
  EXPECT_FALSE(parse_object("{"));
  EXPECT_FALSE(parse_object(""));
  EXPECT_TRUE(parse_object("{}"));
}

}  // namespace
}  // namespace botgate::platforms
