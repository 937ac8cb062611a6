#include "botgate/crypto/seal.hpp"

#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

namespace botgate::crypto {
namespace {

constexpr std::string_view kVersion = "v1:";
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kTagBytes = 32;

std::string tag_of(std::string_view authentication_key, std::string_view iv_and_ciphertext,
                   std::string_view label) {
  return hmac_sha256_of(authentication_key, {iv_and_ciphertext, label});
}

}  // namespace

// Two independent keys from one secret (never the secret itself for both jobs).
Sealer::Sealer(std::string_view secret)
    : encryption_key_(hmac_sha256(secret, "botgate seal: encryption")),
      authentication_key_(hmac_sha256(secret, "botgate seal: authentication")) {}

bool Sealer::looks_sealed(std::string_view value) noexcept { return value.starts_with(kVersion); }

std::string Sealer::seal(std::string_view label, std::string_view plaintext) const {
  std::string box = random_bytes(kIvBytes);
  auto ciphertext = aes256_cbc_encrypt(encryption_key_, box, plaintext);
  // The key and IV sizes are fixed here: encryption cannot fail.
  box += ciphertext.value();
  box += tag_of(authentication_key_, box, label);
  return std::string(kVersion) + base64_encode(box);
}

std::optional<std::string> Sealer::unseal(std::string_view label, std::string_view sealed) const {
  if (!looks_sealed(sealed)) return std::nullopt;
  auto box = base64_decode(sealed.substr(kVersion.size()));
  if (!box || box->size() < kIvBytes + 16 + kTagBytes) return std::nullopt;
  const std::string_view bytes(*box);
  const std::string_view iv_and_ciphertext = bytes.substr(0, bytes.size() - kTagBytes);
  if (!constant_time_equal(tag_of(authentication_key_, iv_and_ciphertext, label),
                           bytes.substr(bytes.size() - kTagBytes))) {
    return std::nullopt;
  }
  auto plaintext = aes256_cbc_decrypt(encryption_key_, iv_and_ciphertext.substr(0, kIvBytes),
                                      iv_and_ciphertext.substr(kIvBytes));
  if (!plaintext) return std::nullopt;
  return std::move(*plaintext);
}

std::string seal(std::string_view secret, std::string_view label, std::string_view plaintext) {
  return Sealer(secret).seal(label, plaintext);
}

std::optional<std::string> unseal(std::string_view secret, std::string_view label,
                                  std::string_view sealed) {
  return Sealer(secret).unseal(label, sealed);
}

}  // namespace botgate::crypto
