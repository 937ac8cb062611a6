#pragma once
/// The `<@ID>` / `<@!ID>` mention syntax Discord and QQ share, read once: message content becomes
/// the text a handler sees (the bot's own mention removed, others as "@name") and its segments.
/// Each platform states how its dialect differs in MentionSyntax rather than keeping a copy.

#include "botgate/core/event.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace botgate::platforms {

struct MentionSyntax {
  /// Ids in the tokens may hold letters, `_` and `-` too (QQ openids seen in group text);
  /// otherwise digits only (Discord snowflakes).
  bool alphanumeric_ids = false;
  /// U+00A0 counts as whitespace when trimming (QQ clients leave one where a mention was).
  bool nbsp_is_space = false;
  /// `&lt; &gt; &amp;` are decoded after the mentions are found (QQ guild text), so that a user
  /// who typed a literal "<@!1>" (delivered escaped) mentions no one.
  bool unescape_entities = false;
  /// A mention at the very start is the bot's even though its id is unknown (QQ's
  /// AT_MESSAGE_CREATE, which is only sent when the bot is @-mentioned).
  bool leading_mention_is_bot = false;
};

struct MentionText {
  std::string text;               // trimmed; the bot's mentions removed, others as "@name"
  std::vector<Segment> segments;  // Text pieces and every mention as a Mention segment
  /// The bot was mentioned in the text, or is listed in the message's `mentions` array.
  bool mentions_bot = false;
};

/// Reads `content`; `message` is the message object whose `mentions` array (`id`, `username`)
/// names the mentioned users. `bot_id` may be empty (not known yet).
MentionText split_mentions(std::string_view content, const boost::json::object& message,
                           const std::string& bot_id, const MentionSyntax& syntax);

}  // namespace botgate::platforms
