#pragma once
/// The answers the API's routes share: a JSON body that no cache keeps, the answer to a failure
/// of the runtime or the store, and the ids in their paths.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace botgate::api {

/// `body` with `status`, `Cache-Control: no-store` (every answer is the state of the moment).
HttpResponse json_answer(http::status status, const boost::json::object& body);

/// A failure while `doing` something ("queue a message"): 503 `store_failed` (nothing was done;
/// the client may try again) for the store's, else 500 `internal_error`. The error's own text
/// goes to botgate's log only: it may name tables or files a client has no business seeing.
HttpResponse failure_answer(std::string_view doing, const Error& error);

/// An id in a route's path (a message, a dead letter): a positive decimal number; nullopt
/// otherwise.
std::optional<std::int64_t> parse_id(std::string_view text);

}  // namespace botgate::api
