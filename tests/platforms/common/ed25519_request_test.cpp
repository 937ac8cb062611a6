#include "botgate/platforms/common/ed25519_request.hpp"

#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace botgate::platforms {
namespace {

const std::string kSeed(32, '\x01');
const std::string kOtherSeed(32, '\x02');
constexpr const char* kTimestamp = "1725442341";
constexpr const char* kBody = R"({"op":0,"t":"AT_MESSAGE_CREATE"})";

constexpr Ed25519RequestRules kStrict{.refuse_non_canonical = true, .max_timestamp_digits = 20};
constexpr Ed25519RequestRules kLenient{.refuse_non_canonical = false, .max_timestamp_digits = 20};

HttpRequest post(std::string_view timestamp, std::string_view signature_hex,
                 std::string body = kBody) {
  HttpRequest request{http::verb::post, "/webhook/bot", 11};
  if (!signature_hex.empty()) request.set("X-Signature-Ed25519", signature_hex);
  if (!timestamp.empty()) request.set("X-Signature-Timestamp", timestamp);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::string signature_bytes(std::string_view timestamp = kTimestamp,
                            const std::string& seed = kSeed) {
  return crypto::ed25519_sign(seed, std::string(timestamp) + kBody);
}

std::string public_key() { return crypto::ed25519_public_key_from_seed(kSeed); }

/// The check's error message, or "ok" with the timestamp it returned.
std::string outcome(const HttpRequest& request, const Ed25519RequestRules& rules = kStrict) {
  auto verified = verify_ed25519_request(request, public_key(), rules);
  if (verified) return "ok " + std::string(*verified);
  EXPECT_TRUE(verified.error().is(errc::bad_signature)) << verified.error().message();
  return verified.error().detail;
}

/// `signature` with S + L in place of S: the same point equation holds, so only the canonical
/// check (or the crypto library's own) tells it apart. S < L < 2^253, so S + L fits 32 bytes.
std::string with_s_plus_l(std::string signature) {
  static constexpr unsigned char kL[32] = {
      0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = static_cast<unsigned char>(signature[32 + i]) + kL[i] + carry;
    signature[32 + i] = static_cast<char>(sum & 0xFF);
    carry = sum >> 8;
  }
  EXPECT_EQ(carry, 0U);
  return signature;
}

TEST(Ed25519RequestTest, SingleHeaderIsEmptyWhenAbsentOrRepeated) {
  HttpRequest request{http::verb::post, "/webhook/bot", 11};
  EXPECT_EQ(single_header(request, "X-Bot-Appid"), "");
  request.set("X-Bot-Appid", "102000000");
  EXPECT_EQ(single_header(request, "X-Bot-Appid"), "102000000");
  EXPECT_EQ(single_header(request, "x-bot-appid"), "102000000");  // names ignore case
  request.insert("X-Bot-Appid", "102000000");
  EXPECT_EQ(single_header(request, "X-Bot-Appid"), "");
}

TEST(Ed25519RequestTest, AGoodSignatureReturnsTheSignedTimestamp) {
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(signature_bytes()))),
            std::string("ok ") + kTimestamp);
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(signature_bytes())), kLenient),
            std::string("ok ") + kTimestamp);
}

TEST(Ed25519RequestTest, UpperCaseHexIsAccepted) {
  std::string hex = crypto::to_hex(signature_bytes());
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(outcome(post(kTimestamp, hex)), std::string("ok ") + kTimestamp);
}

TEST(Ed25519RequestTest, ABadSignatureIsRefused) {
  const std::string does_not_match = "X-Signature-Ed25519 does not match";
  // Another key, another body, another timestamp, one flipped bit.
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(signature_bytes(kTimestamp, kOtherSeed)))),
            does_not_match);
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(signature_bytes()), R"({"op":1})")),
            does_not_match);
  EXPECT_EQ(outcome(post("1725442342", crypto::to_hex(signature_bytes()))), does_not_match);
  std::string flipped = signature_bytes();
  flipped[5] = static_cast<char>(flipped[5] ^ 0x01);
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(flipped))), does_not_match);
}

TEST(Ed25519RequestTest, MissingOrRepeatedHeadersAreRefused) {
  const std::string hex = crypto::to_hex(signature_bytes());
  const std::string missing = "X-Signature-Ed25519 or X-Signature-Timestamp is missing";
  EXPECT_EQ(outcome(post("", hex)), missing);
  EXPECT_EQ(outcome(post(kTimestamp, "")), missing);
  HttpRequest twice = post(kTimestamp, hex);
  twice.insert("X-Signature-Ed25519", hex);
  EXPECT_EQ(outcome(twice), missing);
  HttpRequest two_timestamps = post(kTimestamp, hex);
  two_timestamps.insert("X-Signature-Timestamp", kTimestamp);
  EXPECT_EQ(outcome(two_timestamps), missing);
}

TEST(Ed25519RequestTest, SignaturesOfTheWrongLengthAreRefused) {
  const std::string hex = crypto::to_hex(signature_bytes());
  const std::string wrong = "X-Signature-Ed25519 is not 128 hex digits";
  EXPECT_EQ(outcome(post(kTimestamp, hex.substr(0, 126))), wrong);
  EXPECT_EQ(outcome(post(kTimestamp, hex.substr(0, 127))), wrong);
  EXPECT_EQ(outcome(post(kTimestamp, hex + "00")), wrong);
}

TEST(Ed25519RequestTest, NonHexSignaturesAreRefused) {
  const std::string hex = crypto::to_hex(signature_bytes());
  const std::string wrong = "X-Signature-Ed25519 is not 128 hex digits";
  EXPECT_EQ(outcome(post(kTimestamp, "zz" + hex.substr(2))), wrong);
  EXPECT_EQ(outcome(post(kTimestamp, hex.substr(0, 126) + "0g")), wrong);
  EXPECT_EQ(outcome(post(kTimestamp, " " + hex.substr(1))), wrong);
}

TEST(Ed25519RequestTest, TimestampsMustBeDecimalWithinTheDigitLimit) {
  const std::string not_decimal = "X-Signature-Timestamp is not a decimal number";
  for (const char* timestamp : {"17254423x1", "-1725442341", "1725442341.5", "0x66d8a3a5"}) {
    EXPECT_EQ(outcome(post(timestamp, crypto::to_hex(signature_bytes(timestamp)))), not_decimal)
        << timestamp;
  }
  // Exactly the limit is fine (and the signature then decides); one digit more is refused.
  const std::string twenty(20, '9');
  EXPECT_EQ(outcome(post(twenty, crypto::to_hex(signature_bytes(twenty)))), "ok " + twenty);
  const std::string twenty_one(21, '9');
  EXPECT_EQ(outcome(post(twenty_one, crypto::to_hex(signature_bytes(twenty_one)))), not_decimal);
  constexpr Ed25519RequestRules kTen{.refuse_non_canonical = true, .max_timestamp_digits = 10};
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(signature_bytes())), kTen),
            std::string("ok ") + kTimestamp);
  const std::string eleven = "17254423410";
  EXPECT_EQ(outcome(post(eleven, crypto::to_hex(signature_bytes(eleven))), kTen), not_decimal);
}

TEST(Ed25519RequestTest, ANonCanonicalSignatureIsRefusedByNameWhereTheRulesSaySo) {
  const std::string non_canonical = with_s_plus_l(signature_bytes());
  ASSERT_NE(non_canonical, signature_bytes());
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(non_canonical))),
            "X-Signature-Ed25519 is not canonical");
  // S with any of the top three bits set is at least 2^253 > L.
  std::string top_bits = signature_bytes();
  top_bits[63] = static_cast<char>(top_bits[63] | 0xE0);
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(top_bits))),
            "X-Signature-Ed25519 is not canonical");
  // S == L exactly: not below L.
  std::string s_is_l = with_s_plus_l(std::string(64, '\0'));
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(s_is_l))),
            "X-Signature-Ed25519 is not canonical");
  // Without the rule the signature reaches the verify, which refuses it too (OpenSSL checks
  // S < L itself): the rule names the reason, it does not open a gap when off.
  EXPECT_EQ(outcome(post(kTimestamp, crypto::to_hex(non_canonical)), kLenient),
            "X-Signature-Ed25519 does not match");
}

}  // namespace
}  // namespace botgate::platforms
