#include "botgate/crypto/digest.hpp"

#include "botgate/crypto/encoding.hpp"
#include "crypto/test_vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace botgate::crypto {
namespace {

using testing::load_json;
using testing::str;

TEST(DigestTest, Sha1KnownAnswers) {
  // FIPS 180 examples.
  EXPECT_EQ(to_hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(to_hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1("abc").size(), 20U);
}

TEST(DigestTest, Sha256KnownAnswers) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("test key")),
            "fa2bdca424f01f01ffb48df93acc35d439c7fd331a1a7fba6ac2fd83aa9ab31a");
  EXPECT_EQ(sha256(std::string_view("a\0b", 3)), sha256_of({"a", std::string_view("\0", 1), "b"}));
}

TEST(DigestTest, HmacSha256Rfc4231) {
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block is hashed first.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(DigestTest, HmacSha256EmptyKeyAndData) {
  EXPECT_EQ(to_hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(hmac_sha256(std::string_view(), std::string_view()), hmac_sha256("", ""));
}

TEST(DigestTest, PartsEqualTheJoinedString) {
  EXPECT_EQ(sha256_of({}), sha256(""));
  EXPECT_EQ(sha256_of({"ab", "", "c"}), sha256("abc"));
  EXPECT_EQ(sha1_of({"a", "bc"}), sha1("abc"));
  EXPECT_EQ(sha1_of({}), sha1(""));
  EXPECT_EQ(to_hex(hmac_sha256_of("Jefe", {"what do ya ", "", "want for nothing?"})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_of("k", {}), hmac_sha256("k", ""));
}

TEST(DigestTest, HmacSha256UsesEachCallsKey) {
  // A thread's HMAC context is keyed again for each call: a key must never carry over to the
  // next call, the empty key included (OpenSSL reads a missing key as "the previous one").
  const std::string jefe = hmac_sha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(to_hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(hmac_sha256("Jefe", "what do ya want for nothing?"), jefe);
  EXPECT_NE(hmac_sha256("Jeff", "what do ya want for nothing?"), jefe);
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(hmac_sha256(std::string_view(), "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(DigestTest, FeishuSignatureVector) {
  const auto vectors = load_json("feishu/crypto_vectors.json");
  const auto& v = vectors.at("signature").at(0);
  const std::string timestamp = str(v, "timestamp");
  const std::string nonce = str(v, "nonce");
  const std::string key = str(v, "encrypt_key");
  const std::string body = str(v, "body");
  EXPECT_EQ(to_hex(sha256_of({timestamp, nonce, key, body})), str(v, "signature_hex"));
  // One changed byte of the body changes the signature.
  const std::string tampered = body.substr(0, body.size() - 3) + "X\"}";
  EXPECT_NE(to_hex(sha256_of({timestamp, nonce, key, tampered})), str(v, "signature_hex"));
}

TEST(DigestTest, WecomMsgSignatureVector) {
  const auto v = load_json("crypto/wecom_vectors.json");
  std::vector<std::string> parts = {str(v, "token"), str(v, "timestamp"), str(v, "nonce"),
                                    str(v, "echostr")};
  std::sort(parts.begin(), parts.end());
  EXPECT_EQ(to_hex(sha1_of({parts[0], parts[1], parts[2], parts[3]})), str(v, "msg_signature"));
}

}  // namespace
}  // namespace botgate::crypto
