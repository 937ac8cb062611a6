#pragma once
/// Reading fields of JSON objects without exceptions: a field that is absent or of another type
/// reads as "not there". For every JSON botgate reads: platform callbacks and API answers, and
/// its own stored events and messages.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace botgate {

/// The string at `key`; empty when absent or not a string.
std::string string_at(const boost::json::object& o, std::string_view key);
/// The object at `key`, or nullptr.
const boost::json::object* object_at(const boost::json::object& o, std::string_view key);
/// The array at `key`, or nullptr.
const boost::json::array* array_at(const boost::json::object& o, std::string_view key);
/// The integer at `key` (signed or unsigned JSON integer), or nullopt.
std::optional<std::int64_t> int_at(const boost::json::object& o, std::string_view key);
/// True only when `key` holds the JSON literal true.
bool bool_at(const boost::json::object& o, std::string_view key);
/// `text` parsed, when it is a JSON object; its memory from `storage` (a caller's arena for a
/// document that lives only as long as one callback).
std::optional<boost::json::object> parse_object(std::string_view text,
                                                boost::json::storage_ptr storage = {});

}  // namespace botgate
