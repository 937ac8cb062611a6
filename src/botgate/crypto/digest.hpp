#pragma once
/// Message digests and HMAC, over OpenSSL. Results are raw bytes; `to_hex` for hex.

#include <initializer_list>
#include <string>
#include <string_view>

namespace botgate::crypto {

/// SHA-1 of `data`: 20 raw bytes.
std::string sha1(std::string_view data);
/// MD5 of `data`: 16 raw bytes. Only where a platform asks for it as a checksum (WeCom's image
/// messages); never for anything that has to resist forgery.
std::string md5(std::string_view data);
/// SHA-256 of `data`: 32 raw bytes.
std::string sha256(std::string_view data);
/// HMAC-SHA-256 of `data` under `key` (any length): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// HMAC-SHA-256 over the concatenation of `parts`, without building the joined string.
std::string hmac_sha256_of(std::string_view key, std::initializer_list<std::string_view> parts);

/// SHA-256 over the concatenation of `parts`, without building the joined string.
std::string sha256_of(std::initializer_list<std::string_view> parts);
/// SHA-1 over the concatenation of `parts`, without building the joined string.
std::string sha1_of(std::initializer_list<std::string_view> parts);

}  // namespace botgate::crypto
