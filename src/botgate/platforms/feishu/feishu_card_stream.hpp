#pragma once
/// A streamed reply on Feishu and Lark is a CardKit card entity (protocol notes, streaming
/// section): created at the first text with streaming mode on, sent once as an `interactive`
/// message, its markdown element given the whole text on each change (PUT .../content with a
/// strictly increasing `sequence`, at most 10 operations a second per card), and streaming mode
/// switched off at the end. This file holds the pure parts: the card JSON, the requests' bodies,
/// and the progress a retry or a restart continues from.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::feishu {

/// The element the text streams into.
inline constexpr std::string_view kCardElementId = "reply";
/// Feishu takes 10 operations a second on one card: one update per 100 ms at most.
inline constexpr std::chrono::milliseconds kCardUpdateInterval{100};
/// The most characters one content update takes.
inline constexpr std::size_t kCardTextMaxChars = 100'000;
/// Sequences are reserved (saved) in blocks of this many, so that a restart starts above every
/// sequence an earlier attempt may have used without a save per update.
inline constexpr std::int64_t kCardSequenceBlock = 100;

/// The card entity (JSON 2.0) of a streamed reply: streaming mode on, update_multi (the one
/// card everyone sees), and one markdown element kCardElementId with `content`.
std::string streaming_card_json(std::string_view content);

/// What the card is created with for a stream whose text is `text` then: card_text(text), or
/// nothing when that would take the card JSON near its 30 KB limit (the first update sends it).
std::string initial_card_text(std::string_view text);

/// `text` as a content update takes it: at most kCardTextMaxChars characters (code points), cut
/// between characters; a longer text ends with "…".
std::string card_text(std::string_view text);

/// The `settings` string of PATCH .../settings that switches streaming mode.
std::string card_streaming_settings(bool on);

/// The uuid of the card operation with `sequence` of the message with idempotency key `key`
/// (at most 64 characters): the same operation tried again is done once.
std::string card_op_uuid(std::string_view key, std::int64_t sequence);

/// What a card stream has made on the platform, saved with the message (StreamFeed progress).
struct CardStreamProgress {
  std::string card_id;
  /// Every sequence up to this one may have been used: the next operation goes above it.
  std::int64_t sequence = 0;
  /// The interactive message that shows the card; empty until it was sent.
  std::string message_id;
  bool operator==(const CardStreamProgress&) const = default;
};

std::string to_json(const CardStreamProgress& progress);

/// The progress saved before; nullopt for none (empty) and for anything else, among it
/// send_stream_whole's progress when an attempt before fell back to a plain message.
std::optional<CardStreamProgress> parse_card_progress(std::string_view progress);

}  // namespace botgate::feishu
