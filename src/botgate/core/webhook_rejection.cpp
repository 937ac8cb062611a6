#include "botgate/core/webhook_rejection.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace botgate {

HttpResponse rejection_response(const Error& error) {
  const unsigned status = http_status_for(error);
  boost::json::object body{{"error", error.code.message()}};
  // What is malformed helps whoever sends it; why a signature or a token failed stays in the
  // log: a forger learns nothing from the body beyond "refused".
  if (status == 400 && !error.detail.empty()) body["detail"] = error.detail;
  return make_response(static_cast<http::status>(status), boost::json::serialize(body));
}

}  // namespace botgate
