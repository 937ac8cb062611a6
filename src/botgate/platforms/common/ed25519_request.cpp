#include "botgate/platforms/common/ed25519_request.hpp"

#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace botgate::platforms {
namespace {

constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kScalarBytes = 32;

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032 5.1).
constexpr std::array<unsigned char, kScalarBytes> kGroupOrder{
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// True when the signature's S (its second half, little-endian) is below L.
bool is_canonical(std::string_view signature) {
  const std::string_view s = signature.substr(kScalarBytes);
  for (std::size_t i = kScalarBytes; i-- > 0;) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte != kGroupOrder[i]) return byte < kGroupOrder[i];
  }
  return false;  // S == L
}

}  // namespace

std::string_view single_header(const HttpRequest& request, std::string_view name) {
  if (request.count(name) != 1) return {};
  return request[name];
}

Result<std::string_view> verify_ed25519_request(const HttpRequest& request,
                                                std::string_view public_key,
                                                const Ed25519RequestRules& rules) {
  const std::string_view signature_hex = single_header(request, "X-Signature-Ed25519");
  const std::string_view timestamp = single_header(request, "X-Signature-Timestamp");
  if (signature_hex.empty() || timestamp.empty()) {
    return Error{errc::bad_signature, "X-Signature-Ed25519 or X-Signature-Timestamp is missing"};
  }
  if (!is_digits(timestamp) || timestamp.size() > rules.max_timestamp_digits) {
    return Error{errc::bad_signature, "X-Signature-Timestamp is not a decimal number"};
  }
  const auto signature = crypto::from_hex(signature_hex);
  if (!signature || signature->size() != kSignatureBytes) {
    return Error{errc::bad_signature, "X-Signature-Ed25519 is not 128 hex digits"};
  }
  if (rules.refuse_non_canonical && !is_canonical(*signature)) {
    return Error{errc::bad_signature, "X-Signature-Ed25519 is not canonical"};
  }
  std::string message;
  message.reserve(timestamp.size() + request.body().size());
  message.append(timestamp);
  message.append(request.body());
  if (!crypto::ed25519_verify(public_key, message, *signature)) {
    return Error{errc::bad_signature, "X-Signature-Ed25519 does not match"};
  }
  return timestamp;
}

}  // namespace botgate::platforms
