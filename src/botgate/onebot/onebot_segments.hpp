#pragma once
/// OneBot v11 message segments, both forms a framework may send (the array of
/// {"type", "data"} objects and the CQ-code string), and their mapping to botgate's Segments.
/// Pure: ids stay OneBot numbers here; the bridge maps them (Store::id_numbers).
/// Spec: github.com/botuniverse/onebot-11, message/array.md, message/string.md, message/segment.md.

#include "botgate/core/event.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botgate::onebot {

/// One segment as OneBot writes it. Data values are kept as strings, the CQ-code form: the
/// array form's numbers (`"qq": 10001`) read as their decimal text.
struct ObSegment {
  std::string type;
  std::vector<std::pair<std::string, std::string>> data;

  /// The value of `key`, empty when absent.
  std::string get(std::string_view key) const;
  bool operator==(const ObSegment&) const = default;
};

/// "&" "[" "]" as &amp; &#91; &#93; (text outside CQ codes); with `in_param` also "," as &#44;.
std::string cq_escape(std::string_view text, bool in_param);
/// The reverse of cq_escape (an unknown entity stays as written).
std::string cq_unescape(std::string_view text);

/// A CQ-code string as segments: "[CQ:type,key=value,...]" codes and the text between them (as
/// text segments). A "[" that starts no well-formed code is text.
std::vector<ObSegment> parse_cq(std::string_view message);
/// Segments as a CQ-code string (a text segment as its escaped text).
std::string to_cq(const std::vector<ObSegment>& segments);

/// A message as an action's `message` param gives it: a CQ-code string, an array of segments,
/// or one segment object. nullopt for anything else (a segment without a string `type`, say).
std::optional<std::vector<ObSegment>> segments_from_json(const boost::json::value& message);
/// Segments in the array form.
boost::json::value to_json(const std::vector<ObSegment>& segments);

/// What a framework's message becomes in botgate.
struct InboundMessage {
  /// In order. A Mention's user_id is still the OneBot number as text ("all" for everyone); the
  /// bridge puts the platform id in its place.
  std::vector<Segment> segments;
  /// The OneBot message id of a `reply` segment, if there was one.
  std::optional<std::int64_t> reply_to;
  /// The types dropped: no botgate equivalent (record, file, ...) or unusable data.
  std::vector<std::string> dropped;
};

/// text -> Text; at -> Mention ("qq" = "all" or the user's number); image -> Image (an http(s)
/// URL in "url" or "file"); reply -> reply_to; face -> Text "[face:ID]". Anything else, and
/// an at or image or reply whose data does not fit, is dropped and named in `dropped`.
InboundMessage from_onebot(const std::vector<ObSegment>& segments);

/// The id a OneBot param gives: a JSON integer or a string of decimal digits, from 1 to
/// kMaxMappedId (Store). Frameworks send both forms (Koishi sends strings).
std::optional<std::int64_t> parse_id(const boost::json::value& value);
/// The same for the text of a CQ-code parameter ("10001").
std::optional<std::int64_t> parse_id_text(std::string_view text);

}  // namespace botgate::onebot
