#pragma once
/// AES-256-CBC with PKCS#7 padding, over OpenSSL.

#include "botgate/core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace botgate::crypto {

/// Encrypts `plaintext` with a 32-byte key and a 16-byte IV, padding with PKCS#7 to a multiple of
/// `pad_block` bytes (16 for Feishu; WeCom pads to 32). Returns the raw ciphertext.
/// Wrong key/IV sizes or a `pad_block` that is not a multiple of 16 in 16..240 give
/// `errc::invalid_argument`.
[[nodiscard]] Result<std::string> aes256_cbc_encrypt(std::string_view key, std::string_view iv,
                                                     std::string_view plaintext,
                                                     std::size_t pad_block = 16);

/// Decrypts raw `ciphertext` and removes and validates PKCS#7 padding of up to `pad_block` bytes.
/// Wrong key/IV sizes, a length that is not a multiple of 16 or bad padding give
/// `errc::decrypt_failed`; an unusable `pad_block` (as for encryption) gives
/// `errc::invalid_argument`.
[[nodiscard]] Result<std::string> aes256_cbc_decrypt(std::string_view key, std::string_view iv,
                                                     std::string_view ciphertext,
                                                     std::size_t pad_block = 16);

}  // namespace botgate::crypto
