#pragma once
/// Puts back together an event the Feishu/Lark long connection split into data frames (headers
/// `message_id`, `sum`, `seq`; longconn-and-streaming notes 1.6). What the SDKs get wrong, this
/// does not: a fragment sent twice is kept once, a message left incomplete expires, a completed
/// message is forgotten at once (so a fragment repeated after it cannot make it whole a second
/// time), and what waits is bounded, so a peer cannot make botgate hold unlimited bytes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::feishu {

struct FragmentLimits {
  /// A message whose last fragment came longer ago is dropped (the Go SDK keeps 5 s, Node 10 s;
  /// the platform pushes an event again when it gets no acknowledgement).
  std::chrono::milliseconds expiry{10'000};
  /// The most fragments one message may have.
  std::size_t max_fragments = 64;
  /// Bytes of all incomplete messages together; past it the oldest messages are dropped.
  std::size_t max_bytes = 16u << 20;
  /// Incomplete messages at once; past it the oldest is dropped.
  std::size_t max_messages = 256;
};

/// Thread safety: none; one per connection, used on the connection's strand.
class FragmentAssembler {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Outcome {
    complete,    ///< `payload` is the whole message
    incomplete,  ///< kept; more fragments are to come (or this one was a repeat)
    rejected,    ///< headers that make no sense; `reason` says which
  };
  struct Added {
    Outcome outcome = Outcome::incomplete;
    std::string payload = {};
    std::string reason = {};
  };

  explicit FragmentAssembler(FragmentLimits limits = {}) : limits_(limits) {}

  /// Fragment `seq` (0-based) of `sum` of message `message_id`, received at `now`.
  Added add(std::string_view message_id, std::int64_t sum, std::int64_t seq,
            std::string_view payload, Clock::time_point now);

  /// Incomplete messages held.
  std::size_t pending() const noexcept { return messages_.size(); }
  /// Their bytes.
  std::size_t pending_bytes() const noexcept { return bytes_; }
  /// Incomplete messages dropped so far (expired, or over the limits).
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  struct Message {
    std::vector<std::optional<std::string>> parts;
    std::size_t received = 0;
    std::size_t bytes = 0;
    Clock::time_point first{};
    Clock::time_point last{};
  };
  void drop(std::map<std::string, Message, std::less<>>::iterator it);
  void expire(Clock::time_point now);
  /// Drops the oldest incomplete messages until `incoming` more bytes fit (and, for a
  /// `new_message`, one more message).
  void make_room(std::size_t incoming, bool new_message);

  FragmentLimits limits_;
  std::map<std::string, Message, std::less<>> messages_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace botgate::feishu
