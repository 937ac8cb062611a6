#pragma once
/// GoogleTest printers for message segments, so that a failed comparison of segment vectors shows
/// `Text{"hi "}` instead of the variant's bytes. Found by ADL: include it in a test that compares
/// segments.

#include "botgate/core/event.hpp"

#include <ostream>

namespace botgate {

inline void PrintTo(const Text& s, std::ostream* os) {
  *os << "Text{\"" << s.text << "\"}";
}
inline void PrintTo(const Mention& s, std::ostream* os) {
  *os << "Mention{\"" << s.user_id << "\", \"" << s.name << "\"}";
}
inline void PrintTo(const Image& s, std::ostream* os) {
  *os << "Image{\"" << s.url << "\"}";
}
inline void PrintTo(const Markdown& s, std::ostream* os) {
  *os << "Markdown{\"" << s.markdown << "\"}";
}
inline void PrintTo(const Link& s, std::ostream* os) {
  *os << "Link{\"" << s.text << "\", \"" << s.url << "\"}";
}

}  // namespace botgate
