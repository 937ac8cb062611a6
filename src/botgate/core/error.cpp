#include "botgate/core/error.hpp"

#include <stdexcept>

namespace botgate {
namespace {

class BotgateCategory final : public error_category {
 public:
  const char* name() const noexcept override { return "botgate"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::bad_signature: return "bad_signature";
      case errc::bad_token: return "bad_token";
      case errc::decrypt_failed: return "decrypt_failed";
      case errc::malformed_payload: return "malformed_payload";
      case errc::stale_request: return "stale_request";
      case errc::rate_limited: return "rate_limited";
      case errc::token_unavailable: return "token_unavailable";
      case errc::token_rejected: return "token_rejected";
      case errc::platform_unavailable: return "platform_unavailable";
      case errc::platform_rejected: return "platform_rejected";
      case errc::timeout: return "timeout";
      case errc::store_failed: return "store_failed";
      case errc::cancelled: return "cancelled";
      case errc::invalid_argument: return "invalid_argument";
      case errc::not_found: return "not_found";
      case errc::delivery_uncertain: return "delivery_uncertain";
      case errc::conflict: return "conflict";
    }
    return "unknown botgate error";
  }
};

}  // namespace

const error_category& botgate_category() noexcept {
  static const BotgateCategory category;
  return category;
}

error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), botgate_category()}; }

std::string Error::message() const {
  std::string out = code.message();
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

bool is_retryable(const Error& error) noexcept {
  if (error.code.category() != botgate_category()) {
    return true;  // socket and TLS errors: the network may come back
  }
  switch (static_cast<errc>(error.code.value())) {
    case errc::rate_limited:
    case errc::token_unavailable:
    case errc::token_rejected:
    case errc::platform_unavailable:
    case errc::timeout:
    case errc::store_failed:
      return true;
    default:
      return false;
  }
}

unsigned http_status_for(const Error& error) noexcept {
  if (error.code.category() != botgate_category()) {
    return 500;
  }
  switch (static_cast<errc>(error.code.value())) {
    case errc::bad_signature:
    case errc::bad_token:
    case errc::decrypt_failed:
    case errc::stale_request:
      return 401;
    case errc::malformed_payload:
    case errc::invalid_argument:
      return 400;
    case errc::not_found:
      return 404;
    case errc::conflict:
      return 409;
    case errc::rate_limited:
      return 429;
    case errc::store_failed:
    case errc::cancelled:
    case errc::platform_unavailable:
    case errc::timeout:
    case errc::token_unavailable:
    case errc::token_rejected:
      return 503;
    case errc::platform_rejected:
    case errc::delivery_uncertain:
      return 502;
  }
  return 500;
}

void throw_exception_from_error(const Error& error, const boost::source_location&) {
  throw std::runtime_error(error.message());
}

}  // namespace botgate
