#pragma once
/// Reads a text/event-stream body (server-sent events, the HTML standard's "event stream
/// interpretation") as it arrives: bytes in, whole events out. Used for a forward service's
/// streamed answer, which is how most LLM servers stream.

#include <string>
#include <string_view>
#include <vector>

namespace botgate::net {

/// One dispatched event: its `event:` name ("message" when it named none) and its `data:` lines
/// joined with "\n".
struct SseEvent {
  std::string name;
  std::string data;
};

/// Not thread-safe: one reader per body.
class SseReader {
 public:
  /// Takes the next piece of the body (it may end anywhere, inside a line or a character) and
  /// returns the events it completed. Comments (":" lines), `id:`, `retry:` and unknown fields
  /// are dropped; an event with no data line is not dispatched.
  std::vector<SseEvent> feed(std::string_view piece);

  /// The longest line kept while it has not ended: past it, the line is dropped (a body that
  /// never sends a newline cannot grow memory without bound).
  static constexpr std::size_t kMaxLine = 1024 * 1024;

 private:
  void line(std::string_view line, std::vector<SseEvent>& out);

  std::string partial_;       // the line that has not ended yet
  bool after_cr_ = false;     // the last piece ended with '\r': a '\n' next is the same end
  bool skip_line_ = false;    // the line in progress was too long: dropped up to its end
  bool bom_checked_ = false;  // a leading U+FEFF is not part of the first field
  std::string name_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace botgate::net
