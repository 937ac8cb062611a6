#pragma once
/// How a refused callback is answered.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"

namespace botgate {

/// The answer to a callback that `WebhookHandler::handle` refused: `http_status_for(error)` and
/// {"error": "<kind>"}, with {"detail": ..} only for a malformed one (400). The runtime answers
/// with it; the error's detail goes to the log line, which may say more than the body.
HttpResponse rejection_response(const Error& error);

}  // namespace botgate
