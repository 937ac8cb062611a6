#pragma once
/// A streamed reply in a QQ single chat (C2C): one message the user watches grow, sent as
/// chunks on POST /v2/users/{openid}/messages with `stream: {state, id, index, reset}` (protocol
/// notes, streaming section, variant (a)). The first chunk's answer id names the stream; each
/// later chunk appends its text (or, with reset, replaces it), state 1 while it grows and 10 for
/// the last, which must end with "\n". Every chunk is a passive reply with its own msg_seq. This
/// file holds the pure parts: the chunks, their msg_seq, and the progress a retry continues from.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::qq {

/// One chunk a second at most (what the known clients of the API keep to).
inline constexpr std::chrono::seconds kQqStreamChunkInterval{1};
inline constexpr int kQqStreamGenerating = 1;
inline constexpr int kQqStreamDone = 10;

/// The msg_seq of chunk `index` of the stream with idempotency key `key`: stable across retries
/// and restarts (from the key's SHA-256), from 6 up like qq_msg_seq's for a sent key, so that no
/// chunk takes an event reply's msg_seq, and different for each index.
std::int64_t qq_stream_msg_seq(std::string_view key, std::int64_t index);

struct QqStreamChunk {
  std::string text;
  bool reset = false;  ///< replaces what the user sees instead of appending to it
  bool last = false;   ///< state 10: the stream ends with it
};

/// The chunk that turns `shown` (what the user sees) into `text` (the stream now): the new text
/// appended, or the whole text with reset when `text` does not start with `shown` (the producer
/// replaced it) or when `must_reset` (what the user sees is not known: after a retry). With
/// `ended`, the last chunk, ending with "\n" (one is added when the text has none). nullopt when
/// the stream is open and nothing is new.
std::optional<QqStreamChunk> next_qq_chunk(std::string_view shown, std::string_view text,
                                           bool ended, bool must_reset);

/// What a stream has sent, saved with the message (StreamFeed progress).
struct QqStreamProgress {
  /// The stream's id, from the first chunk's answer; empty while that answer is not known.
  std::string stream_id;
  /// The highest chunk index an attempt may have sent: the next one goes above it (a chunk
  /// whose answer was lost may have landed with its msg_seq).
  std::int64_t index = 0;
  /// Bytes of the text the user had before that chunk (for the log; a retry resets anyway).
  std::uint64_t sent = 0;
  bool operator==(const QqStreamProgress&) const = default;
};

std::string to_json(const QqStreamProgress& progress);

/// The progress saved before; nullopt for none (empty) and anything else (send_stream_whole's
/// progress, when an attempt before fell back to a plain message).
std::optional<QqStreamProgress> parse_qq_stream_progress(std::string_view progress);

}  // namespace botgate::qq
