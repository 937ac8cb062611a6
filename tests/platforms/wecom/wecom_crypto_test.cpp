#include "botgate/platforms/wecom/wecom_crypto.hpp"

#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/encoding.hpp"
#include "platforms/wecom/wecom_test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::wecom {
namespace {

using test::json_string;
using test::kCorpId;
using test::kEncodingAesKey;
using test::kToken;

class WecomCryptoTest : public ::testing::Test {
 protected:
  boost::json::object vectors_ = test::load_json("wecom/official_vectors.json");
  std::string key_ = decode_encoding_aes_key(kEncodingAesKey).value();
  WecomCrypto app_{std::string(kToken), key_, std::string(kCorpId)};

  boost::json::object part(std::string_view name) const { return vectors_.at(name).as_object(); }

  /// Ciphertext of exactly `plaintext` (no WeCom header added), with 32-byte PKCS#7 padding.
  std::string raw_ciphertext(std::string_view plaintext) const {
    return crypto::base64_encode(
        crypto::aes256_cbc_encrypt(key_, key_.substr(0, 16), plaintext, 32).value());
  }
};

TEST_F(WecomCryptoTest, DecodesTheOfficialEncodingAesKey) {
  EXPECT_EQ(crypto::to_hex(key_), json_string(vectors_, "aes_key_hex"));
}

TEST_F(WecomCryptoTest, RefusesEncodingAesKeysOfTheWrongShape) {
  EXPECT_FALSE(decode_encoding_aes_key(kEncodingAesKey.substr(1)));          // 42 characters
  EXPECT_FALSE(decode_encoding_aes_key(std::string(kEncodingAesKey) + "A"));  // 44
  EXPECT_FALSE(decode_encoding_aes_key(""));
  std::string bad(kEncodingAesKey);
  bad[5] = '+';  // base64, but not the alphabet WeCom generates
  EXPECT_FALSE(decode_encoding_aes_key(bad));
  bad[5] = '!';
  auto result = decode_encoding_aes_key(bad);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::invalid_argument));
  EXPECT_EQ(result.error().detail.find(std::string(kEncodingAesKey).substr(0, 10)),
            std::string::npos) << "the detail must not repeat the key";
}

TEST_F(WecomCryptoTest, SignaturesOfTheOfficialExamples) {
  const auto get = part("url_verification");
  const std::string echostr =
      net::query_param("/?e=" + json_string(get, "echostr_query"), "e").value();
  EXPECT_EQ(
      msg_signature(kToken, json_string(get, "timestamp"), json_string(get, "nonce"), echostr),
      json_string(get, "msg_signature"));
  const auto post = part("message");
  EXPECT_EQ(msg_signature(kToken, json_string(post, "timestamp"), json_string(post, "nonce"),
                          json_string(post, "encrypt")),
            json_string(post, "msg_signature"));
  const auto encryption = part("encryption");
  EXPECT_EQ(app_.sign(json_string(encryption, "timestamp"), json_string(encryption, "nonce"),
                      json_string(encryption, "encrypt")),
            json_string(encryption, "msg_signature"));
}

TEST_F(WecomCryptoTest, SignatureComparisonAcceptsUpperCaseAndRejectsTampering) {
  const auto post = part("message");
  const std::string ts = json_string(post, "timestamp");
  const std::string nonce = json_string(post, "nonce");
  const std::string encrypted = json_string(post, "encrypt");
  std::string signature = json_string(post, "msg_signature");
  EXPECT_TRUE(app_.signature_matches(ts, nonce, encrypted, signature));
  std::string upper = signature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(app_.signature_matches(ts, nonce, encrypted, upper));
  signature[0] = signature[0] == '4' ? '5' : '4';
  EXPECT_FALSE(app_.signature_matches(ts, nonce, encrypted, signature));
  EXPECT_FALSE(app_.signature_matches(ts, nonce, encrypted, ""));
  EXPECT_FALSE(app_.signature_matches(ts, "1372623148", encrypted,
                                      json_string(post, "msg_signature")));
  WecomCrypto other_token("QDG6eL", key_, std::string(kCorpId));
  EXPECT_FALSE(other_token.signature_matches(ts, nonce, encrypted,
                                             json_string(post, "msg_signature")));
}

TEST_F(WecomCryptoTest, DecryptsTheOfficialEchostr) {
  // The same official example, as kept with the crypto test vectors.
  const auto vector = test::load_json("crypto/wecom_vectors.json");
  auto plain = app_.decrypt(json_string(vector, "echostr"));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(*plain, json_string(vector, "message"));
}

TEST_F(WecomCryptoTest, DecryptsTheOfficialMessageWith32BytePadding) {
  const auto post = part("message");
  auto plain = app_.decrypt(json_string(post, "encrypt"));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(*plain, json_string(post, "plaintext"));
}

TEST_F(WecomCryptoTest, EncryptionReproducesTheOfficialCiphertexts) {
  const auto post = part("message");
  EXPECT_EQ(
      app_.encrypt(json_string(post, "plaintext"), json_string(post, "random_prefix")).value(),
      json_string(post, "encrypt"));
  // 256 bytes before padding: a whole block of 32 bytes of 0x20 is added.
  const auto encryption = part("encryption");
  EXPECT_EQ(app_.encrypt(json_string(encryption, "message"),
                         json_string(encryption, "random_prefix")).value(),
            json_string(encryption, "encrypt"));
}

TEST_F(WecomCryptoTest, RoundTripsWithARandomPrefixAndAnEmptyReceiveId) {
  WecomCrypto bot(std::string(kToken), key_, "");
  for (const std::string& message :
       std::vector<std::string>{"", "1", "<xml><Content><![CDATA[你好，世界]]></Content></xml>",
                                std::string(1000, 'x')}) {
    auto encrypted = bot.encrypt(message);
    ASSERT_TRUE(encrypted) << encrypted.error().message();
    EXPECT_NE(*encrypted, bot.encrypt(message).value()) << "the prefix must be random";
    auto plain = bot.decrypt(*encrypted);
    ASSERT_TRUE(plain) << plain.error().message();
    EXPECT_EQ(*plain, message);
  }
}

TEST_F(WecomCryptoTest, AWrongReceiveIdIsBadToken) {
  // The official message is for wx5823bf96d3bd56c7: a group bot (receive id "") or another corp
  // must not accept it.
  const std::string encrypted = json_string(part("message"), "encrypt");
  for (const char* receive_id : {"", "wx5823bf96d3bd56c8", "wx5823bf96d3bd56c7x"}) {
    WecomCrypto other(std::string(kToken), key_, receive_id);
    auto plain = other.decrypt(encrypted);
    ASSERT_FALSE(plain) << receive_id;
    EXPECT_TRUE(plain.error().is(errc::bad_token)) << plain.error().message();
    EXPECT_EQ(http_status_for(plain.error()), 401u);
  }
}

TEST_F(WecomCryptoTest, BadPaddingIsDecryptFailed) {
  // Flipping a bit of the next-to-last block flips the same bit of the last plaintext block: the
  // official message's pad byte 30 becomes 31 (and 0 with 30 XOR 30).
  auto raw = crypto::base64_decode(json_string(part("message"), "encrypt")).value();
  for (unsigned char flip : {0x01, 0x1e, 0x3e}) {
    std::string tampered = raw;
    tampered[tampered.size() - 17] = static_cast<char>(tampered[tampered.size() - 17] ^ flip);
    auto plain = app_.decrypt(crypto::base64_encode(tampered));
    ASSERT_FALSE(plain) << int(flip);
    EXPECT_TRUE(plain.error().is(errc::decrypt_failed)) << plain.error().message();
  }
}

TEST_F(WecomCryptoTest, TruncatedOrBrokenBase64IsDecryptFailed) {
  const std::string encrypted = json_string(part("message"), "encrypt");
  for (const std::string& bad : std::vector<std::string>
       {encrypted.substr(0, encrypted.size() - 1), encrypted.substr(0, encrypted.size() - 4),
        encrypted.substr(0, 24), std::string("not base64!"), std::string(""),
        encrypted.substr(0, 10) + "\n" + encrypted.substr(10)}) {
    auto plain = app_.decrypt(bad);
    ASSERT_FALSE(plain) << bad;
    EXPECT_TRUE(plain.error().is(errc::decrypt_failed)) << plain.error().message();
  }
}

TEST_F(WecomCryptoTest, ALengthFieldLargerThanThePlaintextIsDecryptFailed) {
  const std::string prefix = "0123456789abcdef";
  for (const std::string& length : std::vector<std::string>{std::string("\xff\xff\xff\xff", 4),
                                   std::string("\x00\x00\x00\x20", 4)}) {
    auto plain = app_.decrypt(raw_ciphertext(prefix + length + "hello" + std::string(kCorpId)));
    ASSERT_FALSE(plain);
    EXPECT_TRUE(plain.error().is(errc::decrypt_failed)) << plain.error().message();
  }
  // Shorter than the 20-byte header.
  auto plain = app_.decrypt(raw_ciphertext("short"));
  ASSERT_FALSE(plain);
  EXPECT_TRUE(plain.error().is(errc::decrypt_failed));
  // The length field exactly right (and the receive id after it) decrypts.
  EXPECT_EQ(app_.decrypt(raw_ciphertext(prefix + std::string("\x00\x00\x00\x05", 4) + "hello" +
                                         std::string(kCorpId)))
                .value(),
            "hello");
}

}  // namespace
}  // namespace botgate::wecom
