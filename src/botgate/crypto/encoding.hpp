#pragma once
/// Encodings and comparisons used around the crypto.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::crypto {

/// Standard base64 with `=` padding.
std::string base64_encode(std::string_view bytes);
/// Strict standard base64: a wrong alphabet, length or padding gives nullopt. No whitespace is
/// allowed. Non-zero unused bits in the last character are accepted, because WeCom's
/// EncodingAESKey (43 characters plus "=") has them.
std::optional<std::string> base64_decode(std::string_view text);

/// Lower-case hex.
std::string to_hex(std::string_view bytes);
/// Upper or lower case; odd length or a non-hex digit gives nullopt.
std::optional<std::string> from_hex(std::string_view hex);

/// Compares in time that depends only on the lengths, never on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Cryptographically secure random bytes (OpenSSL RAND_bytes). Throws `std::runtime_error` if
/// the generator fails (no entropy): a broken host, not something to handle per request.
std::string random_bytes(std::size_t count);
/// A random UUID v4 in its canonical text form.
std::string random_uuid();

}  // namespace botgate::crypto
