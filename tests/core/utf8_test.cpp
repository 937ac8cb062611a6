#include "botgate/core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate {
namespace {

TEST(Utf8Test, WellFormedTextIsValidAndUnchanged) {
  for (const std::string& text : {std::string(), std::string("plain ascii\n"),
                                 std::string("\u00e9\u4f60\u597d \U0001F600"),
                                 std::string("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"),
                                 std::string("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
                                 std::string("nul \0 inside", 12)}) {
    EXPECT_TRUE(is_valid_utf8(text)) << text;
    EXPECT_EQ(to_valid_utf8(text), text);
  }
}

TEST(Utf8Test, IllFormedSequencesAreInvalid) {
  for (const char* text :
       {"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xc2", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "abc\xe4\xbd",
        "\xe4\xbd" "abc"}) {
    EXPECT_FALSE(is_valid_utf8(text)) << text;
    EXPECT_TRUE(is_valid_utf8(to_valid_utf8(text))) << text;
  }
}

TEST(Utf8Test, EachMaximalSubpartBecomesOneReplacementCharacter) {
  // The Unicode standard's example (chapter 3.9, "U+FFFD Substitution of Maximal Subparts"):
  // 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 reads as a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
  EXPECT_EQ(to_valid_utf8("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64"),
            "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd");
  // A surrogate and an overlong are not prefixes of any valid sequence: one FFFD per byte.
  EXPECT_EQ(to_valid_utf8("\xed\xa0\x80!"), "\uFFFD\uFFFD\uFFFD!");
  EXPECT_EQ(to_valid_utf8("\xc0\xaf!"), "\uFFFD\uFFFD!");
  // A truncated sequence at the end.
  EXPECT_EQ(to_valid_utf8("ok\xf0\x9f\x98"), "ok\uFFFD");
}

}  // namespace
}  // namespace botgate
