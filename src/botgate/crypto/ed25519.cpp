#include "botgate/crypto/ed25519.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace botgate::crypto {
namespace {

constexpr std::size_t kKeySize = crypto_sign_PUBLICKEYBYTES;
constexpr std::size_t kSeedSize = crypto_sign_SEEDBYTES;
constexpr std::size_t kSignatureSize = crypto_sign_BYTES;
static_assert(kKeySize == 32 && kSeedSize == 32 && kSignatureSize == 64);

// Never null, even for an empty default-constructed view, so libsodium sees a valid pointer.
const unsigned char* bytes(std::string_view s) noexcept {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes(std::string& s) noexcept {
  return reinterpret_cast<unsigned char*>(s.data());
}

/// sodium_init() once per process, whichever thread asks first (a function-local static is
/// initialised once even under concurrent first calls). Verification itself needs none of what
/// it sets up, but libsodium asks for it before any other call.
bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

/// The 64-byte libsodium secret key (seed || public key) of `seed32`; wipes itself.
class SecretKey {
 public:
  explicit SecretKey(std::string_view seed32) {
    if (seed32.size() != kSeedSize) {
      throw std::invalid_argument("an Ed25519 seed is 32 bytes");
    }
    if (!sodium_ready() ||
        crypto_sign_seed_keypair(public_key_.data(), secret_key_.data(), bytes(seed32)) != 0) {
      throw std::runtime_error("crypto_sign_seed_keypair failed");
    }
  }
  ~SecretKey() { sodium_memzero(secret_key_.data(), secret_key_.size()); }
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  const unsigned char* secret() const noexcept { return secret_key_.data(); }
  std::string public_key() const {
    return std::string(reinterpret_cast<const char*>(public_key_.data()), public_key_.size());
  }

 private:
  std::array<unsigned char, kKeySize> public_key_{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key_{};
};

}  // namespace

bool ed25519_verify(std::string_view public_key32, std::string_view message,
                    std::string_view signature64) noexcept {
  if (public_key32.size() != kKeySize || signature64.size() != kSignatureSize) {
    return false;
  }
  // The top three bits of S must be clear (S < 2^253), as Go's ed25519.Verify requires;
  // libsodium also checks S < L, but saying it here keeps the rule the QQ notes quote visible.
  if ((static_cast<unsigned char>(signature64[63]) & 0xe0) != 0) {
    return false;
  }
  if (!sodium_ready()) {
    return false;
  }
  // Also refused by libsodium: a key that is not the canonical encoding of a curve point, and a
  // key or an R of small order (tests/crypto/ed25519_test.cpp says why no genuine one is).
  return crypto_sign_verify_detached(bytes(signature64), bytes(message), message.size(),
                                     bytes(public_key32)) == 0;
}

std::string ed25519_public_key_from_seed(std::string_view seed32) {
  return SecretKey(seed32).public_key();
}

std::string ed25519_sign(std::string_view seed32, std::string_view message) {
  const SecretKey key(seed32);
  std::string out(kSignatureSize, '\0');
  if (crypto_sign_detached(bytes(out), nullptr, bytes(message), message.size(), key.secret()) !=
      0) {
    throw std::runtime_error("crypto_sign_detached failed");
  }
  return out;
}

}  // namespace botgate::crypto
