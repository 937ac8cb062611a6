#pragma once
/// The Feishu/Lark long connection's frame (pbbp2.Frame, longconn-and-streaming notes 1.3) as a
/// plain value, and its wire form through the protobuf code protoc generates from pbbp2.proto.
/// Only this file's .cpp sees the generated classes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botgate::feishu {

inline constexpr std::int32_t kControlFrame = 0;  // ping, pong
inline constexpr std::int32_t kDataFrame = 1;     // events, and their acknowledgements

struct LongconnFrame {
  std::uint64_t seq_id = 0;
  std::uint64_t log_id = 0;
  std::int32_t service = 0;
  std::int32_t method = kControlFrame;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Optional fields are kept as received, present or not: an acknowledgement is the event's
  /// frame sent back, and the platform compares them.
  std::optional<std::string> payload_encoding;
  std::optional<std::string> payload_type;
  std::optional<std::string> payload;
  std::optional<std::string> log_id_new;

  /// The first value of header `key`, empty when there is none.
  std::string_view header(std::string_view key) const;
};

/// Null when `bytes` is not a well-formed frame (a required field missing included).
std::optional<LongconnFrame> decode_frame(std::string_view bytes);
std::string encode_frame(const LongconnFrame& frame);

}  // namespace botgate::feishu
