#include "botgate/api/api_answers.hpp"

#include "botgate/api/api_auth.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace botgate::api {

HttpResponse json_answer(http::status status, const boost::json::object& body) {
  HttpResponse response = make_response(status, boost::json::serialize(body));
  response.set(http::field::cache_control, "no-store");
  return response;
}

HttpResponse failure_answer(std::string_view doing, const Error& error) {
  spdlog::error("api: could not {}: {}", doing, error.message());
  if (error.is(errc::store_failed)) {
    return json_error(http::status::service_unavailable, "store_failed",
                      "the store did not answer; try again");
  }
  return json_error(static_cast<http::status>(http_status_for(error)), "internal_error",
                    "see botgate's log");
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    return std::nullopt;
  }
  return id;
}

}  // namespace botgate::api
