#include "botgate/core/json_fields.hpp"

#include <gtest/gtest.h>

namespace botgate {
namespace {

TEST(JsonFieldsTest, ReadsFieldsOfTheRightTypeOnly) {
  const auto o = parse_object(
      R"({"s":"text","n":42,"u":18446744073709551615,"neg":-1,"o":{"k":"v"},"f":1.5,)"
      R"("a":[1,"x"],"t":true,"no":false,"zero":0})");
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
  EXPECT_EQ(object_at(*o, "a"), nullptr);
  ASSERT_NE(array_at(*o, "a"), nullptr);
  EXPECT_EQ(array_at(*o, "a")->size(), 2U);
  EXPECT_EQ(array_at(*o, "o"), nullptr);
  EXPECT_EQ(array_at(*o, "missing"), nullptr);
}

TEST(JsonFieldsTest, OnlyTheLiteralTrueIsTrue) {
  const auto o = parse_object(R"({"t":true,"no":false,"one":1,"text":"true","null":null})");
  ASSERT_TRUE(o);
  EXPECT_TRUE(bool_at(*o, "t"));
  EXPECT_FALSE(bool_at(*o, "no"));
  EXPECT_FALSE(bool_at(*o, "one"));
  EXPECT_FALSE(bool_at(*o, "text"));
  EXPECT_FALSE(bool_at(*o, "null"));
  EXPECT_FALSE(bool_at(*o, "missing"));
}

TEST(JsonFieldsTest, OnlyAnObjectParses) {
  EXPECT_FALSE(parse_object("[1]"));
  EXPECT_FALSE(parse_object("\"s\""));
  EXPECT_FALSE(parse_object("{"));
  EXPECT_FALSE(parse_object(""));
  EXPECT_FALSE(parse_object("{} {}"));
  EXPECT_TRUE(parse_object("{}"));
}

}  // namespace
}  // namespace botgate
