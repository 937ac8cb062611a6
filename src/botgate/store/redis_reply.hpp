#pragma once
/// A Redis reply as botgate keeps it (RESP2): no hiredis type leaves store/redis_client.cpp.

#include <cstdint>
#include <string>
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

}  // namespace botgate::store
