#pragma once
/// The JSON field readers (core/json_fields.hpp) under the names platform code has used:
/// `platforms::string_at` and the rest are the core functions themselves, not copies.

#include "botgate/core/json_fields.hpp"

namespace botgate::platforms {

using botgate::array_at;
using botgate::bool_at;
using botgate::int_at;
using botgate::object_at;
using botgate::parse_object;
using botgate::string_at;

}  // namespace botgate::platforms
