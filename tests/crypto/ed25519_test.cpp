#include "botgate/crypto/ed25519.hpp"

#include "botgate/crypto/encoding.hpp"
#include "crypto/test_vectors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace botgate::crypto {
namespace {

using testing::load_json;
using testing::str;
using testing::unhex;

// QQ's rule (qq.md 3.2): repeat the app secret until it has 32 bytes, keep the first 32.
std::string qq_seed(std::string secret) {
  std::string seed = secret;
  while (seed.size() < 32) {
    seed += secret;
  }
  return seed.substr(0, 32);
}

std::string seed_of(const boost::json::value& v) {
  if (v.as_object().contains("seed_hex")) {
    return unhex(str(v, "seed_hex"));
  }
  return qq_seed(str(v, "secret"));
}

std::string message_of(const boost::json::value& v) {
  if (v.as_object().contains("message_hex")) {
    return unhex(str(v, "message_hex"));
  }
  return str(v, "message");
}

void check_vector(const boost::json::value& v) {
  SCOPED_TRACE(str(v, "name"));
  const std::string seed = seed_of(v);
  const auto& obj = v.as_object();
  if (obj.contains("seed")) {
    EXPECT_EQ(seed, str(v, "seed"));
  }
  const std::string public_key = ed25519_public_key_from_seed(seed);
  EXPECT_EQ(to_hex(public_key), str(v, "public_key_hex"));
  if (!obj.contains("signature_hex")) {
    return;
  }
  const std::string message = message_of(v);
  const std::string signature = unhex(str(v, "signature_hex"));
  // Ed25519 signatures are deterministic, so signing reproduces the vector exactly.
  EXPECT_EQ(to_hex(ed25519_sign(seed, message)), str(v, "signature_hex"));
  EXPECT_TRUE(ed25519_verify(public_key, message, signature));

  std::string tampered = message + "x";
  EXPECT_FALSE(ed25519_verify(public_key, tampered, signature));
  if (!message.empty()) {
    tampered = message;
    tampered[0] = static_cast<char>(tampered[0] ^ 0x01);
    EXPECT_FALSE(ed25519_verify(public_key, tampered, signature));
  }
  for (std::size_t i : {0U, 31U, 32U, 62U}) {
    std::string bad = signature;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(ed25519_verify(public_key, message, bad)) << i;
  }
}

TEST(Ed25519Test, Rfc8032Vector) {
  const auto vectors = load_json("crypto/ed25519_vectors.json");
  for (const auto& v : vectors.at("rfc8032").as_array()) {
    check_vector(v);
  }
}

TEST(Ed25519Test, QqVectors) {
  const auto vectors = load_json("crypto/ed25519_vectors.json");
  for (const auto& v : vectors.at("qq").as_array()) {
    check_vector(v);
  }
}

TEST(Ed25519Test, DiscordStyleVector) {
  const auto vectors = load_json("crypto/ed25519_vectors.json");
  for (const auto& v : vectors.at("discord").as_array()) {
    check_vector(v);
  }
}

TEST(Ed25519Test, SignVerifyRoundTrip) {
  const std::string seed = random_bytes(32);
  const std::string public_key = ed25519_public_key_from_seed(seed);
  ASSERT_EQ(public_key.size(), 32U);
  const std::string message = "1700000000{\"type\":1}";
  const std::string signature = ed25519_sign(seed, message);
  ASSERT_EQ(signature.size(), 64U);
  EXPECT_TRUE(ed25519_verify(public_key, message, signature));
  EXPECT_FALSE(ed25519_verify(public_key, "1700000001{\"type\":1}", signature));
  EXPECT_FALSE(ed25519_verify(ed25519_public_key_from_seed(random_bytes(32)), message, signature));
  EXPECT_TRUE(ed25519_verify(public_key, "", ed25519_sign(seed, "")));
  EXPECT_TRUE(ed25519_verify(public_key, std::string_view(), ed25519_sign(seed, "")));
}

TEST(Ed25519Test, WrongLengthsReturnFalse) {
  const std::string seed(32, '\x01');
  const std::string public_key = ed25519_public_key_from_seed(seed);
  const std::string signature = ed25519_sign(seed, "m");
  ASSERT_TRUE(ed25519_verify(public_key, "m", signature));
  EXPECT_FALSE(ed25519_verify("", "m", signature));
  EXPECT_FALSE(ed25519_verify(public_key.substr(0, 31), "m", signature));
  EXPECT_FALSE(ed25519_verify(public_key + "x", "m", signature));
  EXPECT_FALSE(ed25519_verify(to_hex(public_key), "m", signature));  // hex instead of raw
  EXPECT_FALSE(ed25519_verify(public_key, "m", ""));
  EXPECT_FALSE(ed25519_verify(public_key, "m", signature.substr(0, 63)));
  EXPECT_FALSE(ed25519_verify(public_key, "m", signature + "x"));
  EXPECT_FALSE(ed25519_verify(public_key, "m", to_hex(signature)));
}

TEST(Ed25519Test, MalformedKeysAndSignaturesReturnFalse) {
  const std::string seed(32, '\x01');
  const std::string public_key = ed25519_public_key_from_seed(seed);
  std::string signature = ed25519_sign(seed, "m");
  // S with its top bits set is non-canonical (S >= 2^253 > L).
  std::string high = signature;
  high[63] = static_cast<char>(high[63] | 0xe0);
  EXPECT_FALSE(ed25519_verify(public_key, "m", high));
  // A y coordinate >= p does not decode to a point.
  EXPECT_FALSE(ed25519_verify(std::string(32, '\xff'), "m", signature));
  EXPECT_FALSE(ed25519_verify(std::string(32, '\0'), "m", signature));
  EXPECT_FALSE(ed25519_verify(public_key, "m", std::string(64, '\0')));
}

// Points of small order (the identity, and points of order 2, 4 or 8) never appear in a genuine
// key or signature: RFC 8032 5.1.5 makes a public key [s]B and 5.1.6 a signature's R [r]B, both
// in the subgroup of prime order L. RFC 8032 5.1.7's equation still holds for some of them, which
// lets anyone "sign" for a small-order key: libsodium refuses such keys and such R (OpenSSL 3
// accepted all three cases below), and Discord's and QQ's keys never are one.
TEST(Ed25519Test, SmallOrderKeysAndSignaturePointsAreRefused) {
  const std::string identity = unhex("01" + std::string(62, '0'));
  // S = 0, R = the identity: [0]B = R + [h]A for the identity key A, whatever the message.
  const std::string zero_signature = identity + std::string(32, '\0');
  EXPECT_FALSE(ed25519_verify(identity, "any message", zero_signature));
  EXPECT_FALSE(ed25519_verify(identity, "", zero_signature));
  // The same key written non-canonically (y = p + 1; RFC 8032 5.1.3 says decoding fails).
  const std::string identity_non_canonical = unhex("ee" + std::string(60, 'f') + "7f");
  EXPECT_FALSE(ed25519_verify(identity_non_canonical, "any message", zero_signature));
  // A real key (seed 32 x 0x01) and R = the identity with S = h * a mod L: the equation holds,
  // but no signer following RFC 8032 5.1.6 produces R = identity.
  const std::string seed(32, '\x01');
  const std::string public_key = ed25519_public_key_from_seed(seed);
  const std::string small_r =
      identity + unhex("324a58ccc042d3ab39bbdc26597fb39827a159256aed3c62b396d4c6830c0808");
  EXPECT_FALSE(ed25519_verify(public_key, "m", small_r));
  EXPECT_TRUE(ed25519_verify(public_key, "m", ed25519_sign(seed, "m")));
}

TEST(Ed25519Test, SeedOfWrongLengthThrows) {
  EXPECT_THROW((void)ed25519_public_key_from_seed(std::string(31, 's')), std::invalid_argument);
  EXPECT_THROW((void)ed25519_sign(std::string(33, 's'), "m"), std::invalid_argument);
  EXPECT_THROW((void)ed25519_sign("", "m"), std::invalid_argument);
}

}  // namespace
}  // namespace botgate::crypto
