#include "botgate/crypto/ed25519.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace botgate::crypto {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kSignatureSize = 64;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Never null, even for an empty default-constructed view, so OpenSSL sees a valid pointer.
const unsigned char* bytes(std::string_view s) noexcept {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

Pkey private_key_from_seed(std::string_view seed32) {
  if (seed32.size() != kKeySize) {
    throw std::invalid_argument("an Ed25519 seed is 32 bytes");
  }
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(seed32), kKeySize));
  if (!key) {
    throw std::runtime_error("EVP_PKEY_new_raw_private_key failed");
  }
  return key;
}

}  // namespace

bool ed25519_verify(std::string_view public_key32, std::string_view message,
                    std::string_view signature64) noexcept {
  if (public_key32.size() != kKeySize || signature64.size() != kSignatureSize) {
    return false;
  }
  // The top three bits of S must be clear (S < 2^253), as Go's ed25519.Verify requires; OpenSSL
  // also checks S < L, but saying it here keeps the rule the QQ notes quote visible.
  if ((static_cast<unsigned char>(signature64[63]) & 0xe0) != 0) {
    return false;
  }
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(public_key32), kKeySize));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx) {
    return false;
  }
  // Ed25519 is "pure": no digest, the whole message goes to the one-shot call.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), bytes(signature64), kSignatureSize, bytes(message),
                          message.size()) == 1;
}

std::string ed25519_public_key_from_seed(std::string_view seed32) {
  Pkey key = private_key_from_seed(seed32);
  std::string out(kKeySize, '\0');
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(out.data()), &len) !=
          1 ||
      len != kKeySize) {
    throw std::runtime_error("EVP_PKEY_get_raw_public_key failed");
  }
  return out;
}

std::string ed25519_sign(std::string_view seed32, std::string_view message) {
  Pkey key = private_key_from_seed(seed32);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    throw std::runtime_error("EVP_DigestSignInit failed");
  }
  std::string out(kSignatureSize, '\0');
  std::size_t len = out.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes(message),
                     message.size()) != 1 ||
      len != kSignatureSize) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  return out;
}

}  // namespace botgate::crypto
