#include "botgate/crypto/seal.hpp"

#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

namespace botgate::crypto {
namespace {

constexpr std::string_view kVersion = "v1:";
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kTagBytes = 32;

struct Keys {
  std::string encryption;  // 32 bytes: AES-256
  std::string authentication;
};

/// Two independent keys from one secret (never the secret itself for both jobs).
Keys derive_keys(std::string_view secret) {
  return Keys{hmac_sha256(secret, "botgate seal: encryption"),
              hmac_sha256(secret, "botgate seal: authentication")};
}

std::string tag_of(const Keys& keys, std::string_view iv_and_ciphertext, std::string_view label) {
  std::string authenticated(iv_and_ciphertext);
  authenticated += label;
  return hmac_sha256(keys.authentication, authenticated);
}

}  // namespace

std::string seal(std::string_view secret, std::string_view label, std::string_view plaintext) {
  const Keys keys = derive_keys(secret);
  std::string box = random_bytes(kIvBytes);
  auto ciphertext = aes256_cbc_encrypt(keys.encryption, box, plaintext);
  // The key and IV sizes are fixed here: encryption cannot fail.
  box += ciphertext.value();
  box += tag_of(keys, box, label);
  return std::string(kVersion) + base64_encode(box);
}

std::optional<std::string> unseal(std::string_view secret, std::string_view label,
                                  std::string_view sealed) {
  if (!sealed.starts_with(kVersion)) return std::nullopt;
  auto box = base64_decode(sealed.substr(kVersion.size()));
  if (!box || box->size() < kIvBytes + 16 + kTagBytes) return std::nullopt;
  const Keys keys = derive_keys(secret);
  const std::string_view bytes(*box);
  const std::string_view iv_and_ciphertext = bytes.substr(0, bytes.size() - kTagBytes);
  if (!constant_time_equal(tag_of(keys, iv_and_ciphertext, label),
                           bytes.substr(bytes.size() - kTagBytes))) {
    return std::nullopt;
  }
  auto plaintext = aes256_cbc_decrypt(keys.encryption, iv_and_ciphertext.substr(0, kIvBytes),
                                      iv_and_ciphertext.substr(kIvBytes));
  if (!plaintext) return std::nullopt;
  return std::move(*plaintext);
}

}  // namespace botgate::crypto
