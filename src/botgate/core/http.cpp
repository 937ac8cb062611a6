#include "botgate/core/http.hpp"

namespace botgate {

HttpResponse make_response(http::status status, std::string body, std::string_view content_type) {
  HttpResponse response{status, 11};
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string_view target_path(std::string_view target) noexcept {
  return target.substr(0, target.find('?'));
}

std::string_view target_for_log(std::string_view target) noexcept { return target_path(target); }

}  // namespace botgate
