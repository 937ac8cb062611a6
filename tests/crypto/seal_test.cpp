#include "botgate/crypto/seal.hpp"

#include "botgate/crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::crypto {
namespace {

constexpr const char* kSecret = "app-secret-of-the-bot";
constexpr const char* kLabel = "feishu:cli_a:tenant_access_token";

TEST(SealTest, OpensWithTheSameSecretAndLabel) {
  const std::string tenant_token = "t-g1044ghJRUIJJ5ELPZOZBQYQ4GD3BCA5BA2";
  for (const std::string& plaintext : {std::string(), tenant_token, std::string(100, 'x')}) {
    const std::string sealed = seal(kSecret, kLabel, plaintext);
    EXPECT_EQ(unseal(kSecret, kLabel, sealed), plaintext);
  }
}

TEST(SealTest, TheSealedTextDoesNotShowThePlaintextAndDiffersEachTime) {
  const std::string token = "t-DISTINCTIVE-TOKEN-3b9";
  const std::string a = seal(kSecret, kLabel, token);
  const std::string b = seal(kSecret, kLabel, token);
  EXPECT_EQ(a.find("DISTINCTIVE"), std::string::npos) << a;
  EXPECT_NE(a, b) << "a random IV each time";
  EXPECT_TRUE(a.starts_with("v1:"));
}

TEST(SealTest, AnotherSecretOrLabelOrAChangedByteDoesNotOpen) {
  const std::string sealed = seal(kSecret, kLabel, "token");
  EXPECT_FALSE(unseal("another-secret", kLabel, sealed));
  EXPECT_FALSE(unseal(kSecret, "qq:other", sealed));
  auto box = base64_decode(std::string_view(sealed).substr(3)).value();
  for (std::size_t i = 0; i < box.size(); i += 7) {
    std::string changed = box;
    changed[i] = static_cast<char>(changed[i] ^ 1);
    EXPECT_FALSE(unseal(kSecret, kLabel, "v1:" + base64_encode(changed))) << i;
  }
}

TEST(SealTest, AnythingElseDoesNotOpen) {
  const std::string other_version = "v2:" + std::string(96, 'A');
  for (const std::string& text : {std::string(), std::string("t-plain-token-from-an-older-store"),
                                  std::string("v1:"), std::string("v1:!!"),
                                  std::string("v1:AAAA"), other_version}) {
    EXPECT_FALSE(unseal(kSecret, kLabel, text)) << text;
  }
}

TEST(SealTest, ASealerAgreesWithTheFunctionsBothWays) {
  const Sealer sealer(kSecret);
  const std::string value = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K";
  EXPECT_EQ(unseal(kSecret, kLabel, sealer.seal(kLabel, value)), value);
  EXPECT_EQ(sealer.unseal(kLabel, seal(kSecret, kLabel, value)), value);
  EXPECT_FALSE(Sealer("another-secret").unseal(kLabel, sealer.seal(kLabel, value)));
  EXPECT_TRUE(Sealer::looks_sealed(sealer.seal(kLabel, value)));
  EXPECT_FALSE(Sealer::looks_sealed(value));
}

}  // namespace
}  // namespace botgate::crypto
