#include "botgate/handlers/forward_signature.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

namespace botgate::handlers {

std::string forward_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + crypto::to_hex(crypto::hmac_sha256_of(secret, {t, ".", body}));
}

}  // namespace botgate::handlers
