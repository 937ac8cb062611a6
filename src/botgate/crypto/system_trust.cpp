#include "botgate/crypto/system_trust.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace botgate::crypto {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// "5ad8a5d6.0": the name OpenSSL's directory lookup asks for.
bool is_hashed_name(std::string_view name) {
  if (name.size() < 10 || name[8] != '.') return false;
  for (std::size_t i = 0; i < 8; ++i) {
    if (!is_hex(name[i])) return false;
  }
  for (std::size_t i = 9; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || std::filesystem::equivalent(a, b, ec);
}

/// Whether the ':'-separated `dirs` name `dir`, by any path.
bool lists_dir(std::string_view dirs, const std::string& dir) {
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    if (same_file(std::string(dirs.substr(0, colon)), dir)) return true;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return false;
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

SystemTrust choose_trust(const TrustSources& sources) {
  SystemTrust trust{sources.file_env.value_or(sources.default_file),
                    sources.dir_env.value_or(sources.default_dir)};
  if (same_file(trust.file, sources.default_file) && is_hashed_ca_dir(sources.default_dir)) {
    trust.file.clear();
    if (!lists_dir(trust.dirs, sources.default_dir)) {
      trust.dirs += trust.dirs.empty() ? sources.default_dir : ":" + sources.default_dir;
    }
  }
  return trust;
}

const SystemTrust& system_trust() {
  static const SystemTrust chosen = choose_trust(TrustSources{
      env(X509_get_default_cert_file_env()), env(X509_get_default_cert_dir_env()),
      X509_get_default_cert_file(), X509_get_default_cert_dir()});
  return chosen;
}

bool is_hashed_ca_dir(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (is_hashed_name(it->path().filename().native())) return true;
  }
  return false;
}

bool trust_system_cas(SSL_CTX* ctx, const SystemTrust& trust) {
  bool loaded = true;
  if (!trust.file.empty()) loaded = SSL_CTX_load_verify_file(ctx, trust.file.c_str()) == 1;
  if (!trust.dirs.empty()) {
    loaded = SSL_CTX_load_verify_dir(ctx, trust.dirs.c_str()) == 1 && loaded;
  }
  ERR_clear_error();
  return loaded;
}

void configure_client_tls(SSL_CTX* ctx, const std::string& ca_file) {
  SSL_CTX_set_options(ctx, SSL_OP_ALL | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  (void)trust_system_cas(ctx);
  if (ca_file.empty()) return;
  if (SSL_CTX_load_verify_file(ctx, ca_file.c_str()) != 1) {
    char reason[256];
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof reason);
    ERR_clear_error();
    throw std::invalid_argument("cannot load CA file " + ca_file + ": " + reason);
  }
}

}  // namespace botgate::crypto
