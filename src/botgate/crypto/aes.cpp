#include "botgate/crypto/aes.hpp"

#include <openssl/evp.h>

#include <climits>
#include <memory>

namespace botgate::crypto {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kIvSize = 16;
constexpr std::size_t kAesBlock = 16;
// PKCS#7 stores the pad length in one byte; 240 is the largest multiple of 16 that fits.
constexpr std::size_t kMaxPadBlock = 240;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

bool valid_pad_block(std::size_t pad_block) noexcept {
  return pad_block >= kAesBlock && pad_block <= kMaxPadBlock && pad_block % kAesBlock == 0;
}

const unsigned char* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Runs AES-256-CBC without OpenSSL's own padding over block-aligned `input`: the padding is
// ours, because WeCom pads to 32 bytes, which EVP's PKCS#7 (always 16 here) cannot express.
Result<std::string> run_cipher(bool encrypt, std::string_view key, std::string_view iv,
                               std::string_view input) {
  // EVP takes int lengths; the headroom covers the extra block EVP may write.
  if (input.size() > static_cast<std::size_t>(INT_MAX) - 2 * kAesBlock) {
    return Error(errc::invalid_argument, "AES input too large");
  }
  // The cipher fetched once (an implicit EVP_aes_256_cbc() is looked up in OpenSSL 3's provider
  // store on every init) and one context per thread, initialised again for each callback.
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || cipher == nullptr) {
    return Error(errc::invalid_argument, "AES-256-CBC is not available");
  }
  const errc failure = encrypt ? errc::invalid_argument : errc::decrypt_failed;
  if (EVP_CipherInit_ex2(ctx.get(), cipher, bytes(key), bytes(iv), encrypt ? 1 : 0, nullptr) !=
          1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return Error(failure, "AES-256-CBC init failed");
  }
  std::string out(input.size() + kAesBlock, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  if (EVP_CipherUpdate(ctx.get(), out_bytes, &written, bytes(input),
                       static_cast<int>(input.size())) != 1) {
    return Error(failure, "AES-256-CBC update failed");
  }
  int final_written = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out_bytes + written, &final_written) != 1) {
    return Error(failure, "AES-256-CBC final failed");
  }
  out.resize(static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written));
  return out;
}

}  // namespace

Result<std::string> aes256_cbc_encrypt(std::string_view key, std::string_view iv,
                                       std::string_view plaintext, std::size_t pad_block) {
  if (key.size() != kKeySize || iv.size() != kIvSize) {
    return Error(errc::invalid_argument, "AES-256-CBC needs a 32-byte key and a 16-byte IV");
  }
  if (!valid_pad_block(pad_block)) {
    return Error(errc::invalid_argument, "unsupported PKCS#7 block size");
  }
  // A full block of padding when the plaintext is already aligned, as PKCS#7 requires.
  const std::size_t pad = pad_block - plaintext.size() % pad_block;
  std::string padded;
  padded.reserve(plaintext.size() + pad);
  padded.append(plaintext);
  padded.append(pad, static_cast<char>(pad));
  return run_cipher(true, key, iv, padded);
}

Result<std::string> aes256_cbc_decrypt(std::string_view key, std::string_view iv,
                                       std::string_view ciphertext, std::size_t pad_block) {
  if (!valid_pad_block(pad_block)) {
    return Error(errc::invalid_argument, "unsupported PKCS#7 block size");
  }
  if (key.size() != kKeySize || iv.size() != kIvSize) {
    return Error(errc::decrypt_failed, "AES-256-CBC needs a 32-byte key and a 16-byte IV");
  }
  if (ciphertext.empty() || ciphertext.size() % kAesBlock != 0) {
    return Error(errc::decrypt_failed, "ciphertext length is not a positive multiple of 16");
  }
  auto plain = run_cipher(false, key, iv, ciphertext);
  if (!plain) {
    return plain;
  }
  std::string& text = *plain;
  const auto pad = static_cast<unsigned char>(text.back());
  if (pad == 0 || pad > pad_block || pad > text.size()) {
    return Error(errc::decrypt_failed, "bad PKCS#7 padding");
  }
  // Check every pad byte without an early exit, so the time does not tell which one differed.
  unsigned char diff = 0;
  for (std::size_t i = text.size() - pad; i < text.size(); ++i) {
    diff |= static_cast<unsigned char>(static_cast<unsigned char>(text[i]) ^ pad);
  }
  if (diff != 0) {
    return Error(errc::decrypt_failed, "bad PKCS#7 padding");
  }
  text.resize(text.size() - pad);
  return plain;
}

}  // namespace botgate::crypto
