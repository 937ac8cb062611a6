#pragma once
/// What a Feishu/Lark event means for botgate. One reading for both ways events arrive: a
/// webhook callback's (decrypted, checked) body and a long connection's event frame carry the
/// same schema 2.0 JSON, so a bot moved from one mode to the other behaves the same.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::feishu {

/// One `mentions[]` entry of a message event.
struct MentionKey {
  std::string key;      // "@_user_1"
  std::string open_id;
  std::string user_id;
  std::string name;
};

/// The result of turning Feishu text with `@_user_N` placeholders into botgate's model.
struct StrippedText {
  std::string text;               // bot mentions removed, others as "@name", trimmed
  std::vector<Segment> segments;  // Text and Mention segments in order
  bool mentions_bot = false;
};

/// Replaces mention keys in `text`. A mention is the bot's when its open_id is `bot_open_id`;
/// while that is unknown (empty) no mention is, and every one stays in the text as "@name".
StrippedText strip_mentions(std::string_view text, const std::vector<MentionKey>& mentions,
                            const std::string& bot_open_id);

/// The Event of a schema 2.0 `im.message.receive_v1` event for the bot of `config`. Empty for
/// an event of another app or of another type: acknowledged, nothing to do. malformed_payload
/// for a message event without the fields every message has. `storage` holds the parsed
/// message content while the Event is built. Checks no token: the caller has authenticated
/// the payload (the webhook by signature or token, the long connection by its URL).
Result<std::optional<Event>> message_event(const boost::json::object& payload,
                                          const FeishuConfig& config, const BotIdentity* identity,
                                          boost::json::storage_ptr storage = {});

}  // namespace botgate::feishu
