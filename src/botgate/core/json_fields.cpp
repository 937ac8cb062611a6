#include "botgate/core/json_fields.hpp"

#include <boost/json/parser.hpp>

namespace botgate {
namespace json = boost::json;

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<std::int64_t> int_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

bool bool_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::optional<json::object> parse_object(std::string_view text, json::storage_ptr storage) {
  // One parser per thread, reset for each document: its internal stack stays allocated instead
  // of being allocated and freed for every callback.
  thread_local json::parser parser;
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  parser.write(text, ec);
  if (ec) return std::nullopt;
  json::value value = parser.release();
  if (!value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

}  // namespace botgate
