#pragma once
/// UTF-8 validity. Text from a JSON parser is valid already (Boost.JSON rejects anything else);
/// text from XML (pugixml passes bytes through) or other raw bytes is not, and a stored event
/// with invalid UTF-8 could never be read back.

#include <string>
#include <string_view>

namespace botgate {

/// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every maximal ill-formed subsequence replaced by U+FFFD (the Unicode standard's
/// "substitution of maximal subparts", as browsers decode); valid text comes back unchanged.
std::string to_valid_utf8(std::string_view text);

/// The length of the longest start of `text` within `max_bytes` that does not end inside a
/// UTF-8 sequence (all of it when it fits). Bytes that are not UTF-8 are cut where they fall.
std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace botgate
