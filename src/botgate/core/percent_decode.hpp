#pragma once
/// Percent-decoding (RFC 3986 %XX escapes), shared by the query-string reader (net) and the
/// Redis URL's user and password (store), which may not depend on net.

#include <optional>
#include <string>
#include <string_view>

namespace botgate {

/// `text` with its %XX escapes decoded (either case); a "+" stays a "+". A broken escape (a "%"
/// not followed by two hex digits): nullopt.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace botgate
