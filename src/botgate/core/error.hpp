#pragma once
/// Errors on the data path are values: `Result<T>` carries either a T or an `Error`.
/// Exceptions are reserved for bugs and for configuration errors at startup.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>

namespace botgate {

using boost::system::error_category;
using boost::system::error_code;

/// Protocol-agnostic failure kinds. `http_status_for()` maps them to a status in one place.
enum class errc {
  /// A signature (X-Lark-Signature, msg_signature, Ed25519) did not match.
  bad_signature = 1,
  /// A verification token or receive id did not match the configured one.
  bad_token,
  /// Ciphertext could not be decoded or decrypted (base64, padding, length).
  decrypt_failed,
  /// The payload is not what the platform sends (bad JSON, missing fields).
  malformed_payload,
  /// The request is too old (timestamp outside the accepted window).
  stale_request,
  /// The platform asked us to slow down; `Error::retry_after` says for how long.
  rate_limited,
  /// No access token could be obtained (wrong secret, token endpoint down).
  token_unavailable,
  /// The platform answered that our token is invalid or expired.
  token_rejected,
  /// The platform could not be reached or answered 5xx; worth retrying.
  platform_unavailable,
  /// The platform refused the request for good (bad parameters, no permission).
  platform_rejected,
  /// A network operation ran past its deadline.
  timeout,
  /// The store failed (disk full, corrupt database).
  store_failed,
  /// The operation was cancelled (shutdown).
  cancelled,
  /// Something that the configuration or the caller got wrong.
  invalid_argument,
  /// No route or no bot with that name.
  not_found,
  /// A request that must not reach the platform twice (no idempotency key) may or may not have
  /// reached it: the connection was lost or the deadline passed after (part of) it was written.
  /// Never retried: sending it again could deliver it twice, and not sending it could lose it;
  /// the message is marked failed with this reason and counted, rather than guessed at.
  delivery_uncertain,
  /// The request contradicts the state it meets (a streamed message that already ended).
  conflict,
};

/// The category of `errc`; its name is "botgate".
const error_category& botgate_category() noexcept;
/// Found by ADL so that `error_code ec = errc::bad_signature;` works.
error_code make_error_code(errc e) noexcept;

/// A failure with a detail for logs. `detail` never holds a secret.
struct Error {
  error_code code;
  std::string detail;
  /// From a 429 / Retry-After / x-ogw-ratelimit-reset: when to try again.
  std::optional<std::chrono::milliseconds> retry_after{};

  Error() = default;
  Error(errc e, std::string d = {}, std::optional<std::chrono::milliseconds> after = {})
      : code(make_error_code(e)), detail(std::move(d)), retry_after(after) {}
  Error(error_code ec, std::string d = {}) : code(ec), detail(std::move(d)) {}

  bool is(errc e) const noexcept { return code == make_error_code(e); }
  /// "bad_signature: X-Lark-Signature does not match"
  std::string message() const;
};

/// True for failures that may succeed when tried again later (5xx, timeouts, 429, token).
bool is_retryable(const Error& error) noexcept;

/// The HTTP status a callback gets for this failure (401, 400, 503...).
unsigned http_status_for(const Error& error) noexcept;

/// Needed by `Result::value()`: throws `std::runtime_error` with the message. Tests may rely on
/// it; the data path never does.
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace botgate

namespace boost::system {
template <>
struct is_error_code_enum<botgate::errc> : std::true_type {};
}  // namespace boost::system
