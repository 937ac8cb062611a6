#pragma once
/// The system's trusted CAs for TLS clients (platform APIs, gateways, a TLS Redis).
///
/// OpenSSL's default paths read the whole CA bundle into each store at once: some 140
/// certificates, about 0.6 MiB kept and tens of ms of CPU, though a bot talks to a handful of
/// hosts. Where the default certificate directory is hashed (each CA in a file named by its
/// subject hash, as update-ca-certificates makes it beside the bundle, from the same CAs), that
/// directory stands for the default bundle: it is read one CA at a time, the first time a
/// handshake needs it. Any other file (SSL_CERT_FILE naming another bundle, or a default
/// directory that is not hashed) is loaded as OpenSSL would; SSL_CERT_DIR is honoured.

#include <openssl/types.h>

#include <optional>
#include <string>

namespace botgate::crypto {

/// Where a client's store finds the system's CAs.
struct SystemTrust {
  std::string file;  // a bundle loaded whole; empty: none
  std::string dirs;  // hashed directories, ':'-separated, read CA by CA; empty: none
};

/// What the choice depends on: OpenSSL's environment variables and compiled-in defaults.
struct TrustSources {
  std::optional<std::string> file_env;  // SSL_CERT_FILE
  std::optional<std::string> dir_env;   // SSL_CERT_DIR
  std::string default_file;
  std::string default_dir;
};

/// The paths `sources` call for (reads the file system: whether files are the same, whether
/// the default directory is hashed).
SystemTrust choose_trust(const TrustSources& sources);

/// This process's choice, made once from its environment and OpenSSL's defaults.
const SystemTrust& system_trust();

/// Whether `dir` holds at least one CA under a hashed name (8 hex digits, a dot, a number).
bool is_hashed_ca_dir(const std::string& dir);

/// Makes `ctx` trust the CAs `trust` names. False when OpenSSL refuses a path (a machine
/// without a CA store can still trust a CA file loaded after this); the refusal is not left
/// on OpenSSL's error queue.
bool trust_system_cas(SSL_CTX* ctx, const SystemTrust& trust = system_trust());

/// Sets `ctx` up for a TLS client: TLS 1.2 or later, the peer verified against the system's
/// CAs (a machine without a store can still reach servers whose CA is in `ca_file`) and, when
/// `ca_file` is not empty, the CAs in it. Throws std::invalid_argument naming `ca_file` and
/// OpenSSL's reason when it cannot be loaded.
void configure_client_tls(SSL_CTX* ctx, const std::string& ca_file);

}  // namespace botgate::crypto
