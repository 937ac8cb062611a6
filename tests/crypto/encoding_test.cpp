#include "botgate/crypto/encoding.hpp"

#include "crypto/test_vectors.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace botgate::crypto {
namespace {

TEST(EncodingTest, Base64Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(EncodingTest, Base64RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  for (std::size_t len = 0; len <= all.size(); len += 1) {
    const std::string_view part = std::string_view(all).substr(256 - len);
    const std::string encoded = base64_encode(part);
    EXPECT_EQ(encoded.size(), (len + 2) / 3 * 4);
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    ASSERT_EQ(*decoded, part);
  }
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(EncodingTest, Base64RejectsBadInput) {
  const std::string_view bad[] = {
      "Zm9",        // length not a multiple of 4
      "Zg=",        // ditto, with padding
      "Zm9v!",      // bad character
      "Zm9v Yg==",  // whitespace
      "Zm9v\nYg==",
      "Zm-v",  // URL-safe alphabet
      "Zm_v",
      "Zg=a",  // '=' in the middle
      "=Zm9",       "Zm=v",
      "Z===",  // too much padding
      "====",
      "Zm9vYg=",  // wrong padding length
      "Zm9vYg===",
      "Zg==Zg==",  // padding before the end
  };
  for (std::string_view text : bad) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(base64_decode("Zm9v\xc3\xa9Zg=="));
}

TEST(EncodingTest, Base64TamperedCharacters) {
  const std::string good = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=";
  ASSERT_TRUE(base64_decode(good));
  for (char c : {'*', '-', '_', '.', '%', '\0', ' '}) {
    std::string tampered = good;
    tampered[10] = c;
    EXPECT_FALSE(base64_decode(tampered)) << static_cast<int>(c);
  }
  EXPECT_FALSE(base64_decode(good.substr(0, good.size() - 1)));  // padding cut off
  EXPECT_FALSE(base64_decode(good + "="));
}

TEST(EncodingTest, Base64AcceptsNonZeroTrailingBits) {
  // WeCom's EncodingAESKey: 43 characters; its last one leaves bits set that a canonical encoder
  // would clear, and the platform's own SDKs accept it.
  const auto key = base64_decode("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C=");
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(*key), "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
  EXPECT_EQ(base64_decode("Zh==").value(), "f");
}

TEST(EncodingTest, Hex) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(from_hex("0001abff").value(), std::string_view("\x00\x01\xab\xff", 4));
  EXPECT_EQ(from_hex("0001ABFF").value(), std::string_view("\x00\x01\xab\xff", 4));
  EXPECT_EQ(from_hex("").value(), "");
  EXPECT_FALSE(from_hex("abc"));  // odd length
  EXPECT_FALSE(from_hex("0"));
  EXPECT_FALSE(from_hex("0g"));  // not a hex digit
  EXPECT_FALSE(from_hex("0x00"));
  EXPECT_FALSE(from_hex(" 00 "));
}

TEST(EncodingTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal(std::string_view(), ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));  // last byte
  EXPECT_FALSE(constant_time_equal("xbc", "abc"));  // first byte
  EXPECT_FALSE(constant_time_equal("abc", "ab"));   // prefix
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal("ABC", "abc"));  // hex digests must be normalised first
}

TEST(EncodingTest, RandomBytes) {
  EXPECT_EQ(random_bytes(0), "");
  const std::string a = random_bytes(32);
  const std::string b = random_bytes(32);
  EXPECT_EQ(a.size(), 32U);
  EXPECT_NE(a, b);
  EXPECT_EQ(random_bytes(1000).size(), 1000U);
}

TEST(EncodingTest, RandomUuidIsCanonicalV4) {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = random_uuid();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200U);
}

}  // namespace
}  // namespace botgate::crypto
