#pragma once
/// Authenticated encryption of a short value kept at rest (the token cache in the store):
/// AES-256-CBC with a random IV, then HMAC-SHA-256 over the IV, the ciphertext and a label
/// (encrypt-then-MAC), with two keys derived from `secret` by HMAC-SHA-256. The label binds the
/// value to its place (the token's store key): a sealed value moved to another key does not open.

#include <optional>
#include <string>
#include <string_view>

namespace botgate::crypto {

/// The same as seal()/unseal() below, with the keys derived once (for a value sealed per row).
/// Thread safety: const, so any thread.
class Sealer {
 public:
  explicit Sealer(std::string_view secret);
  std::string seal(std::string_view label, std::string_view plaintext) const;
  std::optional<std::string> unseal(std::string_view label, std::string_view sealed) const;
  /// Whether `value` has the form of a sealed value (older rows may hold plaintext).
  static bool looks_sealed(std::string_view value) noexcept;

 private:
  std::string encryption_key_;  // 32 bytes: AES-256
  std::string authentication_key_;
};

/// `plaintext` sealed under `secret` and `label`: printable text ("v1:" and base64).
std::string seal(std::string_view secret, std::string_view label, std::string_view plaintext);

/// The plaintext of `sealed`; nullopt when it was sealed with another secret or label, was
/// changed, or is no sealed value at all (an older plaintext row).
std::optional<std::string> unseal(std::string_view secret, std::string_view label,
                                  std::string_view sealed);

}  // namespace botgate::crypto
