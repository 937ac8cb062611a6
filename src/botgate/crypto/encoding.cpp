#include "botgate/crypto/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace botgate::crypto {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_base64_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = kInvalid;
  }
  for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) {
    table[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kBase64Table = make_base64_table();

std::uint32_t byte_at(std::string_view s, std::size_t i) noexcept {
  return static_cast<unsigned char>(s[i]);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  // Written into its final size: a push_back per character checked the capacity each time, a
  // seventh of sealing a reply credential.
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  char* at = out.data();
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3, at += 4) {
    const std::uint32_t n =
        (byte_at(bytes, i) << 16) | (byte_at(bytes, i + 1) << 8) | byte_at(bytes, i + 2);
    at[0] = kBase64Alphabet[(n >> 18) & 0x3f];
    at[1] = kBase64Alphabet[(n >> 12) & 0x3f];
    at[2] = kBase64Alphabet[(n >> 6) & 0x3f];
    at[3] = kBase64Alphabet[n & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = byte_at(bytes, i) << 16;
    if (rest == 2) {
      n |= byte_at(bytes, i + 1) << 8;
    }
    at[0] = kBase64Alphabet[(n >> 18) & 0x3f];
    at[1] = kBase64Alphabet[(n >> 12) & 0x3f];
    at[2] = rest == 2 ? kBase64Alphabet[(n >> 6) & 0x3f] : '=';
    at[3] = '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  // '=' may only end the text, once or twice.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  const std::string_view body = text.substr(0, text.size() - padding);
  // Callback bodies are mostly base64: four characters to three bytes at a time, written into
  // the sized string, rather than a byte at a time through push_back.
  std::string out(text.size() / 4 * 3 - padding, '\0');
  char* to = out.data();
  const auto* from = reinterpret_cast<const unsigned char*>(body.data());
  const std::size_t whole = body.size() / 4 * 4;
  for (std::size_t i = 0; i < whole; i += 4) {
    const std::uint32_t a = kBase64Table[from[i]], b = kBase64Table[from[i + 1]],
                        c = kBase64Table[from[i + 2]], d = kBase64Table[from[i + 3]];
    // Valid values are 0-63, kInvalid has the high bits set.
    if ((a | b | c | d) > 63) return std::nullopt;  // also a '=' that is not at the end
    const std::uint32_t group = a << 18 | b << 12 | c << 6 | d;
    *to++ = static_cast<char>(group >> 16);
    *to++ = static_cast<char>(group >> 8 & 0xff);
    *to++ = static_cast<char>(group & 0xff);
  }
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = whole; i < body.size(); ++i) {
    const std::uint8_t v = kBase64Table[from[i]];
    if (v == kInvalid) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *to++ = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The leftover bits (2 or 4) are dropped; see the header for why they are not checked.
  return out;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // The lengths of signatures and tokens are public; only the content must not leak.
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  auto* dest = reinterpret_cast<unsigned char*>(out.data());
  std::size_t done = 0;
  while (done < count) {
    const std::size_t chunk = std::min<std::size_t>(count - done, INT_MAX);
    if (RAND_bytes(dest + done, static_cast<int>(chunk)) != 1) {
      throw std::runtime_error("RAND_bytes failed: no secure random bytes available");
    }
    done += chunk;
  }
  return out;
}

std::string random_uuid() {
  std::string raw = random_bytes(16);
  // RFC 9562 section 5.4: version 4 in the high nibble of byte 6, variant 10 in byte 8.
  raw[6] = static_cast<char>((static_cast<unsigned char>(raw[6]) & 0x0f) | 0x40);
  raw[8] = static_cast<char>((static_cast<unsigned char>(raw[8]) & 0x3f) | 0x80);
  const std::string hex = to_hex(raw);
  std::string out;
  out.reserve(36);
  out.append(hex, 0, 8).append(1, '-');
  out.append(hex, 8, 4).append(1, '-');
  out.append(hex, 12, 4).append(1, '-');
  out.append(hex, 16, 4).append(1, '-');
  out.append(hex, 20, 12);
  return out;
}

}  // namespace botgate::crypto
