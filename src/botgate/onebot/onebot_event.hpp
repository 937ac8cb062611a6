#pragma once
/// botgate Events as OneBot v11 events (message, meta_event lifecycle and heartbeat). Pure: the
/// numbers come from the id map, looked up by the caller (Store::id_numbers with the keys
/// event_id_keys names). Spec: onebot-11 event/message.md, event/meta.md.

#include "botgate/core/event.hpp"
#include "botgate/core/store.hpp"
#include "botgate/onebot/onebot_segments.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace botgate::onebot {

/// Numbers by kind and platform id.
using IdNumbers = std::map<std::pair<IdKind, std::string>, std::int64_t>;

/// The ids a message event's OneBot form needs numbers for: the sender (in a private chat with
/// that chat as context, where send_private_msg finds it), the group (a group or channel chat,
/// with its ChatType name as context), the message (with the event id as context: a reply
/// segment naming it finds the event) and each user mentioned. Empty for an event without a
/// message.
std::vector<IdKey> event_id_keys(const Event& event);
/// `keys` with the `numbers` Store::id_numbers gave for them.
IdNumbers numbers_of(const std::vector<IdKey>& keys, const std::vector<std::int64_t>& numbers);

/// A message's segments as OneBot segments: Text and Markdown as text, Mention as at (qq: the
/// user's number, or "all"), Image as image (file and url: its URL), Link as text. When the
/// message mentions the bot in a group, its first mention is the bot's (platforms keep it in
/// the segments and strip it only from the text) and becomes an at of `self_id`, added in front
/// when there is none: frameworks tell "to me" by it.
std::vector<ObSegment> to_onebot(const Message& message, bool group, std::int64_t self_id,
                                 const IdNumbers& ids);

/// The OneBot message event of `event` (private, or group for group and channel chats);
/// nullopt for an event without a message.
std::optional<boost::json::object> message_event(const Event& event, std::int64_t self_id,
                                                 const IdNumbers& ids);

/// meta_event lifecycle "connect", sent first on every connection.
boost::json::object lifecycle_connect(std::int64_t self_id,
                                      std::chrono::system_clock::time_point now);
/// meta_event heartbeat with status {online, good} and the interval in milliseconds.
boost::json::object heartbeat_event(std::int64_t self_id, std::chrono::system_clock::time_point now,
                                    bool online, std::chrono::milliseconds interval);

}  // namespace botgate::onebot
