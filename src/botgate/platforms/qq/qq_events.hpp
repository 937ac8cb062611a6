#pragma once
/// QQ message events (QQ notes section 5) as botgate Events. The same dispatch payloads arrive
/// over the gateway (op 0) and in webhook pushes (op 0), so both paths share this parser.

#include "botgate/core/event.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace botgate::qq {

/// Which send endpoint answers an event (QQ notes 6.1), kept in Event::reply_context:
/// "channel" -> POST /channels/{chat.id}/messages, "dms" -> POST /dms/{chat.id = guild_id}/messages,
/// "group" -> POST /v2/groups/{chat.id = group_openid}/messages,
/// "c2c" -> POST /v2/users/{chat.id = user_openid}/messages.
enum class QqChatKind { channel, dms, group, c2c };

const char* to_string(QqChatKind kind) noexcept;
std::optional<QqChatKind> qq_chat_kind_from_string(std::string_view name) noexcept;

/// One dispatch (`t`, `d`, and the payload's top-level `id`, the event id) turned into an Event
/// for bot `bot_name`: AT_MESSAGE_CREATE, MESSAGE_CREATE (channel), DIRECT_MESSAGE_CREATE (dms),
/// GROUP_AT_MESSAGE_CREATE (group), C2C_MESSAGE_CREATE (c2c). The message id is `d.id` (the
/// msg_id of a passive reply); platform_event_id is `event_id` when present, else the message
/// id; the bot's `<@!bot_user_id>` mention is stripped from the text (and any leading mention
/// when bot_user_id is empty for AT_MESSAGE_CREATE). nullopt for other types or a malformed `d`.
std::optional<Event> qq_event_from_dispatch(std::string_view type, const boost::json::object& d,
                                            std::string_view event_id,
                                            const std::string& bot_name,
                                            const std::string& bot_user_id);

}  // namespace botgate::qq
