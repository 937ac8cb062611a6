#include "botgate/crypto/system_trust.hpp"

#include "support/testdata.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace botgate::crypto {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    path = fs::temp_directory_path() /
           ("botgate-trust-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

X509Ptr read_pem(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) return {nullptr, X509_free};
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return {cert, X509_free};
}

/// The file name OpenSSL's directory lookup asks for: the subject's hash, ".0".
std::string hashed_name(X509* ca) {
  char name[16];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(ca));
  return name;
}

/// Whether `ctx`'s store trusts the test server's certificate, and how many certificates the
/// store held before and after the check.
struct Verdict {
  bool trusted = false;
  int held_before = 0;
  int held_after = 0;
};

Verdict check_server_cert(SSL_CTX* ctx) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  Verdict verdict;
  verdict.held_before = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
  X509Ptr server = read_pem(test::testdata_path("net/server.pem"));
  EXPECT_NE(server, nullptr);
  if (server == nullptr) return verdict;
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> check(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
  X509_STORE_CTX_init(check.get(), store, server.get(), nullptr);
  verdict.trusted = X509_verify_cert(check.get()) == 1;
  verdict.held_after = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
  return verdict;
}

TEST(SystemTrust, AHashedDirectoryIsOneWithACaUnderItsHashedName) {
  TempDir dir;
  EXPECT_FALSE(is_hashed_ca_dir(dir.path.string()));  // empty
  std::ofstream(dir.path / "ca-certificates.crt") << "bundle";
  std::ofstream(dir.path / "5ad8a5d6.txt") << "not a hashed name";
  std::ofstream(dir.path / "5ad8a5dg.0") << "not hex";
  std::ofstream(dir.path / "5AD8A5D6.0") << "OpenSSL asks in lower case";
  std::ofstream(dir.path / "5ad8a5d6.") << "no number";
  EXPECT_FALSE(is_hashed_ca_dir(dir.path.string()));
  std::ofstream(dir.path / "5ad8a5d6.12") << "a hashed name";
  EXPECT_TRUE(is_hashed_ca_dir(dir.path.string()));
  EXPECT_FALSE(is_hashed_ca_dir((dir.path / "missing").string()));
}

/// A default directory with the test CA under its hashed name, and a default bundle.
struct SystemLike {
  SystemLike() {
    X509Ptr ca = read_pem(test::testdata_path("net/ca.pem"));
    EXPECT_NE(ca, nullptr);
    fs::create_directories(certs);
    if (ca != nullptr) {
      fs::copy_file(test::testdata_path("net/ca.pem"), certs / hashed_name(ca.get()));
    }
    fs::copy_file(test::testdata_path("net/ca.pem"), bundle);
    fs::create_symlink(bundle, cert_pem);  // as /usr/lib/ssl/cert.pem is
  }
  TrustSources sources() const { return {std::nullopt, std::nullopt, cert_pem, certs}; }
  TempDir root;
  fs::path certs = root.path / "certs";
  fs::path bundle = root.path / "certs" / "ca-certificates.crt";
  fs::path cert_pem = root.path / "cert.pem";
};

TEST(SystemTrust, TheDefaultBundleIsReadThroughTheHashedDefaultDirectory) {
  SystemLike system;
  const SystemTrust plain = choose_trust(system.sources());
  EXPECT_EQ(plain.file, "");
  EXPECT_EQ(plain.dirs, system.certs.string());
  // SSL_CERT_FILE naming the default bundle by another path changes nothing.
  TrustSources named = system.sources();
  named.file_env = system.bundle.string();
  const SystemTrust same = choose_trust(named);
  EXPECT_EQ(same.file, "");
  EXPECT_EQ(same.dirs, system.certs.string());
  // SSL_CERT_DIR is read as well as the default directory that stands for the bundle.
  named.dir_env = "/opt/extra-cas";
  EXPECT_EQ(choose_trust(named).dirs, "/opt/extra-cas:" + system.certs.string());
  named.dir_env = "/opt/extra-cas:" + system.certs.string();
  EXPECT_EQ(choose_trust(named).dirs, "/opt/extra-cas:" + system.certs.string());
  const fs::path linked = system.root.path / "linked-certs";  // as /usr/lib/ssl/certs is
  fs::create_directory_symlink(system.certs, linked);
  named.dir_env = linked.string();
  EXPECT_EQ(choose_trust(named).dirs, linked.string());
}

TEST(SystemTrust, AnotherBundleOrAnUnhashedDirectoryIsLoadedAsOpenSslWould) {
  SystemLike system;
  TrustSources other = system.sources();
  const fs::path mine = system.root.path / "my-cas.pem";
  fs::copy_file(test::testdata_path("net/ca.pem"), mine);
  other.file_env = mine.string();
  const SystemTrust chosen = choose_trust(other);
  EXPECT_EQ(chosen.file, mine.string());
  EXPECT_EQ(chosen.dirs, system.certs.string());

  TrustSources unhashed = system.sources();
  unhashed.default_dir = (system.root.path / "empty").string();
  fs::create_directories(unhashed.default_dir);
  const SystemTrust whole = choose_trust(unhashed);
  EXPECT_EQ(whole.file, system.cert_pem.string());
  EXPECT_EQ(whole.dirs, unhashed.default_dir);
}

TEST(SystemTrust, AHashedDirectoryIsReadOnlyWhenAHandshakeNeedsItsCa) {
  SystemLike system;
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_TRUE(trust_system_cas(ctx.get(), choose_trust(system.sources())));
  const Verdict verdict = check_server_cert(ctx.get());
  EXPECT_TRUE(verdict.trusted);
  EXPECT_EQ(verdict.held_before, 0);  // nothing read up front
  EXPECT_EQ(verdict.held_after, 1);   // the one CA the chain needed
}

TEST(SystemTrust, ABundleIsLoadedWhole) {
  SystemLike system;
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_TRUE(trust_system_cas(ctx.get(), SystemTrust{system.bundle.string(), ""}));
  const Verdict verdict = check_server_cert(ctx.get());
  EXPECT_TRUE(verdict.trusted);
  EXPECT_EQ(verdict.held_before, 1);
}

TEST(SystemTrust, ACaMissingFromTheDirectoryIsNotTrustedAndAMissingFileIsReported) {
  TempDir dir;
  std::ofstream(dir.path / "00000000.0") << "";  // hashed, but not the test CA's hash
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_TRUE(trust_system_cas(ctx.get(), SystemTrust{"", dir.path.string()}));
  EXPECT_FALSE(check_server_cert(ctx.get()).trusted);
  CtxPtr missing(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  EXPECT_FALSE(trust_system_cas(missing.get(), SystemTrust{(dir.path / "none.pem").string(), ""}));
  EXPECT_EQ(ERR_peek_error(), 0UL);  // not left on the queue
}

TEST(ClientTls, VerifiesThePeerOverTls12OrLaterAgainstTheCaFileToo) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  configure_client_tls(ctx.get(), test::testdata_path("net/ca.pem"));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER);
  EXPECT_TRUE(check_server_cert(ctx.get()).trusted);
}

TEST(ClientTls, ACaFileThatCannotBeLoadedIsNamedInTheError) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  const std::string missing = test::testdata_path("net/no-such-ca.pem");
  try {
    configure_client_tls(ctx.get(), missing);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cannot load CA file " + missing + ": "),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

}  // namespace
}  // namespace botgate::crypto
