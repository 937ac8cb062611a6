#pragma once
/// Ed25519 (RFC 8032) over libsodium: verification of Discord interactions and QQ webhooks,
/// signing for QQ's callback validation and for tests. libsodium, not OpenSSL 3 like the rest of
/// crypto/: its verify takes less than half the time (docs/performance.md). Thread-safe.

#include <string>
#include <string_view>

namespace botgate::crypto {

/// True when `signature64` is a valid signature of `message` under `public_key32`. Inputs of the
/// wrong length, a non-canonical signature (S >= L, or any of S's top three bits set), a key that
/// is not the canonical encoding of a curve point, and a key or signature point R of small order
/// give false.
[[nodiscard]] bool ed25519_verify(std::string_view public_key32, std::string_view message,
                                  std::string_view signature64) noexcept;

/// The 32-byte public key of the 32-byte private seed (RFC 8032 "secret key"). Throws
/// `std::invalid_argument` if the seed is not 32 bytes: seeds come from configuration.
[[nodiscard]] std::string ed25519_public_key_from_seed(std::string_view seed32);

/// The 64-byte signature of `message` with the key pair of `seed32`. Throws
/// `std::invalid_argument` if the seed is not 32 bytes.
[[nodiscard]] std::string ed25519_sign(std::string_view seed32, std::string_view message);

}  // namespace botgate::crypto
