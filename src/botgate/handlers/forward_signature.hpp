#pragma once
/// The signature on each forward POST, so that the user's service can tell botgate's requests
/// from anyone's, as the platforms sign theirs:
///   X-Botgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
/// The timestamp inside the MAC lets the service refuse a replayed old request.

#include <cstdint>
#include <string>
#include <string_view>

namespace botgate::handlers {

inline constexpr const char* kForwardSignatureHeader = "X-Botgate-Signature";

/// The header's value for `body` sent at `unix_seconds`.
std::string forward_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

}  // namespace botgate::handlers
