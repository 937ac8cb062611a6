#pragma once
/// A Redis reply as botgate keeps it (RESP2): no hiredis type leaves store/redis_client.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botgate::store {

struct RedisReply {
  enum class Type { nil, string, status, error, integer, array };
  Type type = Type::nil;
  std::string text;  ///< of a string, a status ("OK") or an error ("NOSCRIPT No matching...")
  std::int64_t integer = 0;
  std::vector<RedisReply> elements;  ///< of an array

  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_error() const noexcept { return type == Type::error; }
  bool is_array() const noexcept { return type == Type::array; }
  /// An error reply whose code (its first word) is `code`, e.g. "NOSCRIPT", "BUSYGROUP".
  bool is_error(std::string_view code) const noexcept {
    return is_error() && text.starts_with(code) &&
           (text.size() == code.size() || text[code.size()] == ' ');
  }
};

/// Moves the value of field `name` out of a Stream entry's flat array of names and values
/// (empty when it has none): an entry is read once, so its text (an event's JSON) need not be
/// copied.
inline std::string take_field(RedisReply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].text == name) return std::move(fields.elements[i + 1].text);
  }
  return {};
}

}  // namespace botgate::store
