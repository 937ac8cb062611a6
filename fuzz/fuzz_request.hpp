#pragma once
/// Helpers shared by the fuzz targets: the input as parts (FuzzedDataProvider) and an
/// HttpRequest built from them as the server would hand it to a handler.

#include "botgate/core/http.hpp"
#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace botgate::fuzz {

/// Requests are POSTs most of the time (every platform's events), sometimes another method.
inline http::verb fuzzed_method(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return http::verb::get;
    case 1: return http::verb::put;
    default: return http::verb::post;
  }
}

inline HttpRequest make_request(http::verb method, std::string_view target, std::string body) {
  HttpRequest request{method, target, 11};
  request.set(http::field::host, "botgate.example");
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// A header value of up to 200 fuzzed bytes; Beast stores any bytes, as its parser passes on
/// every byte a field value may hold.
inline std::string header_value(FuzzedDataProvider& input) {
  return input.ConsumeRandomLengthString(200);
}

/// Signs `request` as Discord and QQ do: Ed25519 over the timestamp and the body, in the
/// X-Signature-Ed25519 and X-Signature-Timestamp headers.
inline void sign_ed25519(HttpRequest& request, const std::string& seed,
                         const std::string& timestamp) {
  request.set("X-Signature-Ed25519",
              crypto::to_hex(crypto::ed25519_sign(seed, timestamp + request.body())));
  request.set("X-Signature-Timestamp", timestamp);
}

}  // namespace botgate::fuzz
