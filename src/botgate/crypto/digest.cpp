#include "botgate/crypto/digest.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <memory>
#include <stdexcept>
#include <string>

namespace botgate::crypto {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Digests only fail on allocation or a broken OpenSSL build: a bug, not untrusted input, so an
// exception is the right signal (STYLE 4.6, "errors").
[[noreturn]] void digest_failed(const char* what) {
  throw std::runtime_error(std::string("OpenSSL digest failed: ") + what);
}

/// The algorithm `name` fetched once per process: OpenSSL 3 looks an implicit `EVP_sha256()` up
/// in its provider store (locks, a hash table) on every init, a tenth of a callback's hashing.
const EVP_MD* fetched(const char* name) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) digest_failed(name);
  return md;  // kept for the life of the process
}

const EVP_MD* sha1_md() {
  static const EVP_MD* md = fetched("SHA1");
  return md;
}
const EVP_MD* sha256_md() {
  static const EVP_MD* md = fetched("SHA256");
  return md;
}

std::string digest_of(const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  // One context per thread, initialised again for each digest, instead of one allocated each time.
  thread_local MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) {
    digest_failed("init");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      digest_failed("update");
    }
  }
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  unsigned int written = 0;
  if (EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written) != 1) {
    digest_failed("final");
  }
  out.resize(written);
  return out;
}

}  // namespace

std::string sha1(std::string_view data) { return digest_of(sha1_md(), {data}); }

std::string md5(std::string_view data) { return digest_of(EVP_md5(), {data}); }

std::string sha256(std::string_view data) { return digest_of(sha256_md(), {data}); }

std::string sha256_of(std::initializer_list<std::string_view> parts) {
  return digest_of(sha256_md(), parts);
}

std::string sha1_of(std::initializer_list<std::string_view> parts) {
  return digest_of(sha1_md(), parts);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int written = 0;
  // HMAC() is not deprecated in OpenSSL 3 and handles empty keys and data; a non-null key pointer
  // keeps it from treating an empty key as "no key".
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  const auto* data_bytes =
      data.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
  if (key.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(sha256_md(), key_bytes, static_cast<int>(key.size()), data_bytes, data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &written) == nullptr) {
    digest_failed("hmac");
  }
  out.resize(written);
  return out;
}

}  // namespace botgate::crypto
