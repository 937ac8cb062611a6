#pragma once
/// Helpers shared by the platform tests (tests/platforms/<platform>/): a canned platform API
/// answer, and GoogleTest predicates on what a sender or a webhook returned, so that a failure
/// says what came back instead of just "false".

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"
#include "botgate/core/platform.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace botgate::test {

/// A platform API answer with `status` and a JSON `body`, as the sender reads it.
inline HttpResponse json_response(http::status status, std::string body) {
  HttpResponse r{status, 11};
  r.set(http::field::content_type, "application/json; charset=utf-8");
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

/// Holds when `result` is an error of kind `expected`.
inline ::testing::AssertionResult fails_with(const Result<std::string>& result, errc expected) {
  if (result) {
    return ::testing::AssertionFailure() << "succeeded with \"" << *result << "\"";
  }
  if (!result.error().is(expected)) {
    return ::testing::AssertionFailure() << "failed with " << result.error().message();
  }
  return ::testing::AssertionSuccess();
}

/// Holds when the webhook refused the callback with an error of kind `expected` that maps to
/// HTTP `status`.
inline ::testing::AssertionResult fails_with(const Result<WebhookOutcome>& result, errc expected,
                                             unsigned status) {
  if (result) {
    return ::testing::AssertionFailure() << "succeeded with status " << result->ack.result_int()
                                         << " and " << result->events.size() << " events";
  }
  if (!result.error().is(expected)) {
    return ::testing::AssertionFailure() << "failed with " << result.error().message();
  }
  if (http_status_for(result.error()) != status) {
    return ::testing::AssertionFailure()
           << "status " << http_status_for(result.error()) << ", expected " << status;
  }
  return ::testing::AssertionSuccess();
}

/// Holds when the webhook acknowledged the callback with a 200 and produced no event.
inline ::testing::AssertionResult acknowledged_without_events(
    const Result<WebhookOutcome>& result) {
  if (!result) {
    return ::testing::AssertionFailure() << "failed with " << result.error().message();
  }
  if (result->ack.result() != http::status::ok) {
    return ::testing::AssertionFailure() << "status " << result->ack.result_int();
  }
  if (!result->events.empty()) {
    return ::testing::AssertionFailure() << result->events.size() << " events";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace botgate::test
