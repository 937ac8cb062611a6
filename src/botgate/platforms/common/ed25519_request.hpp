#pragma once
/// The Ed25519 signature of an HTTP callback as Discord (interactions) and QQ (webhooks) send
/// it: `X-Signature-Ed25519` holds the hex signature of `X-Signature-Timestamp` || raw body.
/// One check for both, with what differs between them stated by each platform.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"

#include <cstddef>
#include <string_view>

namespace botgate::platforms {

/// What a platform's signed callbacks look like beyond the shared scheme.
struct Ed25519RequestRules {
  /// Refuse a signature whose scalar S is not below the group order L (RFC 8032 5.1.7), before
  /// the curve check. A second, different signature of the same message (S + L) is then refused
  /// by name, whatever the crypto library's verify does about it.
  bool refuse_non_canonical = true;
  /// The most digits `X-Signature-Timestamp` may have. The timestamp is always Unix seconds in
  /// decimal digits only: a signer that sends anything else is not the platform.
  std::size_t max_timestamp_digits = 20;
};

/// The value of header `name` when it appears exactly once; empty when it is absent or repeated
/// (of two signature or identity headers, which one was checked would be ambiguous).
std::string_view single_header(const HttpRequest& request, std::string_view name);

/// Checks `request`'s `X-Signature-Ed25519` against `public_key` (32 bytes) over
/// `X-Signature-Timestamp` followed by the body. Each header must appear exactly once. Returns
/// the signed timestamp (a view into `request`, decimal digits only, at most
/// `rules.max_timestamp_digits` of them), or `errc::bad_signature` naming what was wrong.
/// Pure: no I/O, safe to call from any thread.
Result<std::string_view> verify_ed25519_request(const HttpRequest& request,
                                                std::string_view public_key,
                                                const Ed25519RequestRules& rules);

}  // namespace botgate::platforms
