#include "botgate/crypto/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

/// An HMAC context whose digest is SHA-256, set once: a digest named in EVP_MAC_init's
/// parameters would be fetched again on every init.
MacCtx new_hmac_sha256() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // kept for the process
  if (mac == nullptr) digest_failed("HMAC is not available");
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  if (!ctx || EVP_MAC_CTX_set_params(ctx.get(), params) != 1) digest_failed("HMAC-SHA-256 init");
  return ctx;
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
  return hmac_sha256_of(key, {data});
}

std::string hmac_sha256_of(std::string_view key, std::initializer_list<std::string_view> parts) {
  // One HMAC-SHA-256 context per thread, keyed again for each MAC. The one-shot HMAC() of
  // OpenSSL 3 fetches the HMAC algorithm and then the digest by its name from the provider store
  // (locks, string compares) on every call, and allocates its contexts anew: half the cost of
  // sealing a reply credential, which every WeCom group-bot callback has.
  thread_local MacCtx ctx = new_hmac_sha256();
  // A non-null key pointer: a null one would mean "the previous key" to EVP_MAC_init.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), nullptr) != 1) digest_failed("hmac init");
  for (std::string_view part : parts) {
    if (!part.empty() &&
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                       part.size()) != 1) {
      digest_failed("hmac update");
    }
  }
  std::string out(EVP_MAX_MD_SIZE, '\0');
  std::size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                    out.size()) != 1) {
    digest_failed("hmac final");
  }
  out.resize(written);
  return out;
}

}  // namespace botgate::crypto
