#include "botgate/net/sse_reader.hpp"

namespace botgate::net {

std::vector<SseEvent> SseReader::feed(std::string_view piece) {
  std::vector<SseEvent> out;
  if (!bom_checked_) {
    // A body may start with a BOM, possibly over two pieces: wait for three bytes.
    partial_.append(piece);
    if (partial_.size() < 3 && std::string_view("\xEF\xBB\xBF").starts_with(partial_)) return out;
    bom_checked_ = true;
    std::string first = std::move(partial_);
    partial_.clear();
    if (std::string_view(first).starts_with("\xEF\xBB\xBF")) first.erase(0, 3);
    out = feed(first);
    return out;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    const char c = piece[i];
    if (c != '\r' && c != '\n') continue;
    if (c == '\n' && after_cr_ && i == start && partial_.empty()) {
      // The '\n' of a "\r\n" whose '\r' ended the last piece or line.
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    std::string_view rest = piece.substr(start, i - start);
    if (!skip_line_) {
      if (partial_.empty()) {
        line(rest, out);
      } else {
        partial_.append(rest);
        line(partial_, out);
      }
    }
    partial_.clear();
    skip_line_ = false;
    after_cr_ = c == '\r';
    start = i + 1;
  }
  if (start < piece.size()) {
    after_cr_ = false;
    if (!skip_line_) partial_.append(piece.substr(start));
    if (partial_.size() > kMaxLine) {
      partial_.clear();
      skip_line_ = true;
    }
  }
  return out;
}

void SseReader::line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_) {
      out.push_back(SseEvent{name_.empty() ? "message" : std::move(name_), std::move(data_)});
    }
    name_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment (a keep-alive)
  const std::size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    name_.assign(value);
  }
}

}  // namespace botgate::net
