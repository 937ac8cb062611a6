#pragma once
/// A streamed reply (an LLM's answer that grows): one outbox message whose text arrives over
/// time. A producer (a C++ handler, a forward service's streamed answer, the API) opens it, grows
/// it and finishes it through the Runtime; the bot's Sender renders it the best way its platform
/// has (Sender::send_stream) while it grows.

#include "botgate/core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace botgate {

namespace asio = boost::asio;

/// Whether a stream still grows.
enum class StreamEnd : std::uint8_t {
  open = 0,
  finished = 1,   ///< its producer finished it
  cut_short = 2,  ///< botgate finished it with what it had: the producer stalled, or botgate
                  ///< restarted in its middle
};
const char* to_string(StreamEnd end) noexcept;

/// The longest text one stream may grow to (UTF-8 bytes): far above any platform's message, so
/// that only a runaway producer meets it.
inline constexpr std::size_t kMaxStreamBytes = 256 * 1024;

/// A stream as it stands.
struct StreamSnapshot {
  std::string text;
  StreamEnd end = StreamEnd::open;
  /// Grows with each change of text or end, from 1 when it opens: a sender compares it with the
  /// one it rendered (0: none yet).
  std::uint64_t version = 0;
};

/// What the store keeps of a streamed message beside the message (Store::outbox_stream_text,
/// outbox_stream_progress), so that a restart finishes the stream from where it was.
struct StreamRecord {
  std::string text;
  StreamEnd end = StreamEnd::open;
  /// The sender's own record of what it showed (message ids, a card and its sequence): opaque
  /// to everything but the sender that wrote it.
  std::string progress;
  bool operator==(const StreamRecord&) const = default;
};

/// One change a producer makes.
struct StreamChange {
  enum Kind { append, replace };
  Kind kind = append;
  std::string text;
  bool finish = false;
};

/// A streamed message as its sender sees it. Used on the bot's strand, by one send at a time.
class StreamFeed {
 public:
  virtual ~StreamFeed() = default;
  /// Waits until the stream's version is above `seen` (it changed) or it ended, and returns it as
  /// it stands then: every change since `seen` at once, so a slow platform shows fewer, larger
  /// steps. A stream whose producer stalls is ended here (cut_short) after the runtime's limit.
  /// errc::cancelled when botgate stops meanwhile: the send returns it as it is, and the stream
  /// is finished from the outbox after the restart.
  virtual asio::awaitable<Result<StreamSnapshot>> next(std::uint64_t seen) = 0;
  /// What save_progress kept, by this attempt or one before it (a retry, a restart); empty at the
  /// first attempt.
  virtual const std::string& progress() const = 0;
  /// Keeps `progress` with the message, durably, before it returns: a sender saves what it
  /// created on the platform before it builds on it, so that a retry or a restart continues the
  /// same platform message instead of sending a second one.
  virtual asio::awaitable<Result<void>> save_progress(std::string progress) = 0;
};

}  // namespace botgate
