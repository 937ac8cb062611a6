#include "botgate/core/utf8.hpp"

#include <cstddef>

namespace botgate {
namespace {

/// What starts at text[at]: a well-formed sequence of `length` bytes, or (valid false) the
/// maximal ill-formed subpart of `length` bytes (at least 1) that one U+FFFD replaces.
struct Step {
  std::size_t length;
  bool valid;
};

Step step_at(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t k) -> int {
    return at + k < text.size() ? static_cast<unsigned char>(text[at + k]) : -1;
  };
  const int lead = byte(0);
  if (lead < 0x80) return {1, true};
  // Unicode 15, table 3-7 (well-formed UTF-8 byte sequences): the lead byte fixes the length
  // and the range of the second byte; later bytes are 80..BF.
  std::size_t trailing = 0;
  int low = 0x80;
  int high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trailing = 1;
  } else if (lead == 0xE0) {
    trailing = 2;
    low = 0xA0;  // no overlongs
  } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
    trailing = 2;
  } else if (lead == 0xED) {
    trailing = 2;
    high = 0x9F;  // no surrogates
  } else if (lead == 0xF0) {
    trailing = 3;
    low = 0x90;  // no overlongs
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    trailing = 3;
  } else if (lead == 0xF4) {
    trailing = 3;
    high = 0x8F;  // nothing past U+10FFFF
  } else {
    return {1, false};  // 80..C1, F5..FF never start a sequence
  }
  for (std::size_t k = 1; k <= trailing; ++k) {
    const int b = byte(k);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return {k, false};
  }
  return {trailing + 1, true};
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t at = 0; at < text.size();) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    const Step step = step_at(text, at);
    if (!step.valid) return false;
    at += step.length;
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t at = 0; at < text.size();) {
    const Step step = step_at(text, at);
    if (step.valid) {
      out.append(text.substr(at, step.length));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    }
    at += step.length;
  }
  return out;
}

std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text.size();
  std::size_t cut = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the first byte of a character.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace botgate
