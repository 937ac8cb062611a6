#include "botgate/net/http_wire.hpp"

#include <string_view>

namespace botgate::net {
namespace {

template <class Fields>
std::size_t fields_size(const Fields& fields) {
  std::size_t size = 0;
  for (const auto& field : fields) size += field.name_string().size() + field.value().size() + 4;
  return size;
}

template <class Fields>
void append_fields(std::string& out, const Fields& fields) {
  for (const auto& field : fields) {
    out.append(field.name_string());
    out.append(": ");
    out.append(field.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

std::string_view version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

std::string serialize(const HttpResponse& response) {
  // Beast gives the standard reason phrase when none was set.
  const std::string_view reason = response.reason();
  std::string out;
  out.reserve(32 + reason.size() + fields_size(response) + response.body().size());
  out.append(version_text(response.version()));
  out += ' ';
  out.append(std::to_string(response.result_int()));
  out += ' ';
  out.append(reason);
  out.append("\r\n");
  append_fields(out, response);
  out.append(response.body());
  return out;
}

std::string request_head(const HttpRequest& request) {
  const std::string_view method = request.method_string();
  const std::string_view target = request.target();
  std::string out;
  out.reserve(16 + method.size() + target.size() + fields_size(request));
  out.append(method);
  out += ' ';
  out.append(target);
  out += ' ';
  out.append(version_text(request.version()));
  out.append("\r\n");
  append_fields(out, request);
  return out;
}

}  // namespace botgate::net
