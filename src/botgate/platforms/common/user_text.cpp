#include "botgate/platforms/common/user_text.hpp"

namespace botgate::platforms {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_icase(std::string_view text, std::string_view token) noexcept {
  if (text.size() < token.size()) return false;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (lower(text[i]) != lower(token[i])) return false;
  }
  return true;
}

}  // namespace

std::string break_tokens(std::string_view text, std::initializer_list<std::string_view> tokens) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    out += text[pos];
    const std::string_view rest = text.substr(pos);
    if (rest.substr(1).starts_with(kZeroWidthSpace)) continue;
    for (std::string_view token : tokens) {
      if (!token.empty() && starts_with_icase(rest, token)) {
        out += kZeroWidthSpace;
        break;
      }
    }
  }
  return out;
}

std::string escape_html_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace botgate::platforms
