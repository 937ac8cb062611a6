#include "botgate/crypto/aes.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "crypto/test_vectors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::crypto {
namespace {

using testing::load_json;
using testing::str;
using testing::unhex;

const std::string kKey(32, 'k');
const std::string kIv(16, 'i');

// Feishu's procedure (feishu-lark.md 3.3): key = SHA-256(EncryptKey), buf = base64(encrypt),
// IV = buf[0:16], AES-256-CBC over the rest, PKCS#7 with 16-byte blocks.
Result<std::string> feishu_decrypt(std::string_view encrypt_key, std::string_view encrypt) {
  const auto buf = base64_decode(encrypt);
  if (!buf || buf->size() < 16) {
    return Error(errc::decrypt_failed, "bad base64");
  }
  const std::string_view raw = *buf;
  return aes256_cbc_decrypt(sha256(encrypt_key), raw.substr(0, 16), raw.substr(16));
}

// One AES block that decrypts (with kKey/kIv) to exactly `block`: the first block of an
// encryption of `block` (the second block only holds the padding). Lets a test choose the
// "padding" the decryptor sees.
std::string block_decrypting_to(std::string_view block) {
  EXPECT_EQ(block.size(), 16U);
  auto ct = aes256_cbc_encrypt(kKey, kIv, block);
  EXPECT_TRUE(ct);
  EXPECT_EQ(ct->size(), 32U);
  return ct->substr(0, 16);
}

TEST(AesTest, FeishuTestKeyVectorStepByStep) {
  const auto vectors = load_json("feishu/crypto_vectors.json");
  const auto& v = vectors.at("decrypt").at(0);
  const std::string key = sha256(str(v, "encrypt_key"));
  EXPECT_EQ(to_hex(key), str(v, "key_sha256_hex"));
  const auto buf = base64_decode(str(v, "encrypt"));
  ASSERT_TRUE(buf);
  ASSERT_EQ(buf->size(), 32U);
  const std::string iv = buf->substr(0, 16);
  EXPECT_EQ(to_hex(iv), str(v, "iv_hex"));
  const auto plain = aes256_cbc_decrypt(key, iv, std::string_view(*buf).substr(16));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(*plain, str(v, "plaintext"));
}

TEST(AesTest, FeishuEventVectorsDecrypt) {
  const auto vectors = load_json("feishu/crypto_vectors.json");
  for (const auto& v : vectors.at("decrypt").as_array()) {
    SCOPED_TRACE(str(v, "name"));
    const auto plain = feishu_decrypt(str(v, "encrypt_key"), str(v, "encrypt"));
    ASSERT_TRUE(plain) << plain.error().message();
    const auto& obj = v.as_object();
    if (obj.contains("plaintext")) {
      EXPECT_EQ(*plain, str(v, "plaintext"));
    }
    if (obj.contains("plaintext_prefix")) {
      EXPECT_TRUE(plain->starts_with(str(v, "plaintext_prefix"))) << *plain;
    }
    if (obj.contains("plaintext_suffix")) {
      EXPECT_TRUE(plain->ends_with(str(v, "plaintext_suffix"))) << *plain;
    }
    if (obj.contains("fields")) {
      // The whole plaintext must be JSON: a padding byte left behind would break parsing.
      boost::system::error_code ec;
      const auto event = boost::json::parse(*plain, ec);
      ASSERT_FALSE(ec) << ec.message();
      for (const auto& [name, expected] : obj.at("fields").as_object()) {
        EXPECT_EQ(event.at(name), expected) << name;
      }
      EXPECT_EQ(event.at("event").at("type"), "message");
    }
  }
}

TEST(AesTest, FeishuEncryptRoundTripVector) {
  const auto vectors = load_json("feishu/crypto_vectors.json");
  const auto& v = vectors.at("encrypt").at(0);
  const std::string key = sha256(str(v, "encrypt_key"));
  const std::string iv = unhex(str(v, "iv_hex"));
  const auto ct = aes256_cbc_encrypt(key, iv, str(v, "plaintext"));
  ASSERT_TRUE(ct) << ct.error().message();
  EXPECT_EQ(base64_encode(iv + *ct), str(v, "encrypt"));
  const auto back = feishu_decrypt(str(v, "encrypt_key"), str(v, "encrypt"));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, str(v, "plaintext"));
}

TEST(AesTest, WecomOfficialEchostrUses32BytePadding) {
  const auto v = load_json("crypto/wecom_vectors.json");
  const auto key = base64_decode(str(v, "encoding_aes_key") + "=");
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(*key), str(v, "aes_key_hex"));
  const auto ct = base64_decode(str(v, "echostr"));
  ASSERT_TRUE(ct);
  const auto plain = aes256_cbc_decrypt(*key, key->substr(0, 16), *ct, 32);
  ASSERT_TRUE(plain) << plain.error().message();
  // random(16) || big-endian length(4) || message || receive id
  const std::string message = str(v, "message");
  ASSERT_EQ(plain->size(), 20 + message.size() + str(v, "receive_id").size());
  EXPECT_EQ(static_cast<unsigned char>((*plain)[19]), message.size());
  EXPECT_EQ(plain->substr(20, message.size()), message);
  EXPECT_EQ(plain->substr(20 + message.size()), str(v, "receive_id"));
  EXPECT_EQ(ct->size() - plain->size(), static_cast<std::size_t>(v.at("pad").as_int64()));
}

TEST(AesTest, Wecom32BytePadRoundTrip) {
  for (std::size_t len : {0U, 1U, 31U, 32U, 33U, 64U}) {
    SCOPED_TRACE(len);
    const std::string plain(len, 'p');
    const auto ct = aes256_cbc_encrypt(kKey, kIv, plain, 32);
    ASSERT_TRUE(ct);
    EXPECT_EQ(ct->size(), (len / 32 + 1) * 32);
    const auto back = aes256_cbc_decrypt(kKey, kIv, *ct, 32);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, plain);
  }
}

TEST(AesTest, PadLargerThanTheDecryptBlockIsRejected) {
  // 32 bytes padded to 32 carry a full 32-byte pad; a 16-byte decryptor must refuse it.
  const auto ct = aes256_cbc_encrypt(kKey, kIv, std::string(32, 'p'), 32);
  ASSERT_TRUE(ct);
  const auto back = aes256_cbc_decrypt(kKey, kIv, *ct, 16);
  ASSERT_FALSE(back);
  EXPECT_TRUE(back.error().is(errc::decrypt_failed));
  // 31 bytes carry a pad of 1, which both block sizes accept.
  const auto small = aes256_cbc_encrypt(kKey, kIv, std::string(31, 'p'), 32);
  ASSERT_TRUE(small);
  EXPECT_EQ(aes256_cbc_decrypt(kKey, kIv, *small, 16).value(), std::string(31, 'p'));
}

TEST(AesTest, Pkcs7On16ByteBlocks) {
  for (std::size_t len : {0U, 1U, 11U, 15U, 16U, 17U, 100U}) {
    SCOPED_TRACE(len);
    const std::string plain(len, '\x05');
    const auto ct = aes256_cbc_encrypt(kKey, kIv, plain);
    ASSERT_TRUE(ct);
    EXPECT_EQ(ct->size(), (len / 16 + 1) * 16);
    EXPECT_EQ(aes256_cbc_decrypt(kKey, kIv, *ct).value(), plain);
  }
}

TEST(AesTest, ValidChosenPaddingIsStripped) {
  const std::string ct = block_decrypting_to(std::string(13, 'a') + "\x03\x03\x03");
  EXPECT_EQ(aes256_cbc_decrypt(kKey, kIv, ct).value(), std::string(13, 'a'));
  const std::string full = block_decrypting_to(std::string(16, '\x10'));
  EXPECT_EQ(aes256_cbc_decrypt(kKey, kIv, full).value(), "");
}

TEST(AesTest, BadPaddingIsRejected) {
  const std::string cases[] = {
      std::string(15, 'a') + '\x00',          // pad value 0
      std::string(15, 'a') + '\x11',          // pad 17 > block 16
      std::string(15, 'a') + '\xff',          // pad 255
      std::string(13, 'a') + "\x02\x03\x03",  // one pad byte differs
      "a" + std::string(15, '\x10'),          // pad 16 but the first byte differs
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    SCOPED_TRACE(i);
    const auto result = aes256_cbc_decrypt(kKey, kIv, block_decrypting_to(cases[i]));
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().is(errc::decrypt_failed));
  }
}

TEST(AesTest, PadAboveBlockIsRejectedForWecomToo) {
  // Two blocks whose last byte is 33: above the 32-byte block.
  const auto ct = aes256_cbc_encrypt(kKey, kIv, std::string(31, 'a') + '\x21');
  ASSERT_TRUE(ct);
  const auto result = aes256_cbc_decrypt(kKey, kIv, std::string_view(*ct).substr(0, 32), 32);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::decrypt_failed));
}

TEST(AesTest, WrongLengthsAreRejected) {
  const auto ct = aes256_cbc_encrypt(kKey, kIv, "hello world");
  ASSERT_TRUE(ct);
  const auto expect_fail = [](const Result<std::string>& r) {
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::decrypt_failed)) << r.error().message();
  };
  expect_fail(aes256_cbc_decrypt(kKey, kIv, std::string_view(*ct).substr(0, 15)));  // truncated
  expect_fail(aes256_cbc_decrypt(kKey, kIv, *ct + "x"));                            // too long
  expect_fail(aes256_cbc_decrypt(kKey, kIv, ""));                                   // empty
  expect_fail(aes256_cbc_decrypt(kKey.substr(0, 31), kIv, *ct));                    // short key
  expect_fail(aes256_cbc_decrypt(kKey + "k", kIv, *ct));                            // long key
  expect_fail(aes256_cbc_decrypt(kKey, kIv.substr(0, 15), *ct));                    // short IV
  expect_fail(aes256_cbc_decrypt(std::string(16, 'k'), kIv, *ct));                  // AES-128 key
}

TEST(AesTest, EncryptRejectsBadArguments) {
  const auto expect_invalid = [](const Result<std::string>& r) {
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::invalid_argument)) << r.error().message();
  };
  expect_invalid(aes256_cbc_encrypt(kKey.substr(1), kIv, "x"));
  expect_invalid(aes256_cbc_encrypt(kKey, kIv + "i", "x"));
  expect_invalid(aes256_cbc_encrypt(kKey, kIv, "x", 0));
  expect_invalid(aes256_cbc_encrypt(kKey, kIv, "x", 24));
  expect_invalid(aes256_cbc_encrypt(kKey, kIv, "x", 256));
  expect_invalid(aes256_cbc_decrypt(kKey, kIv, std::string(16, 'c'), 8));
}

TEST(AesTest, WrongKeyDoesNotYieldThePlaintext) {
  const auto ct = aes256_cbc_encrypt(kKey, kIv, "hello world");
  ASSERT_TRUE(ct);
  const auto other = aes256_cbc_decrypt(std::string(32, 'K'), kIv, *ct);
  // Usually bad padding; by chance (about 1 in 256) a valid-looking pad. Never the plaintext.
  EXPECT_TRUE(!other || *other != "hello world");
}

TEST(AesTest, TamperedFeishuCiphertextFails) {
  const auto vectors = load_json("feishu/crypto_vectors.json");
  const auto& v = vectors.at("decrypt").at(0);
  std::string encrypt = str(v, "encrypt");
  encrypt[3] = '*';  // not in the alphabet
  EXPECT_FALSE(feishu_decrypt(str(v, "encrypt_key"), encrypt));
  // A flipped bit in the last ciphertext block garbles the padding block.
  auto raw = base64_decode(str(v, "encrypt"));
  ASSERT_TRUE(raw);
  (*raw)[31] = static_cast<char>((*raw)[31] ^ 0x01);
  const auto result = feishu_decrypt(str(v, "encrypt_key"), base64_encode(*raw));
  EXPECT_TRUE(!result || *result != "hello world");
}

}  // namespace
}  // namespace botgate::crypto
