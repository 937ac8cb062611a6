#pragma once
/// OutgoingMessage segments -> the JSON body of a QQ send (QQ notes 6.1): text or markdown,
/// mentions in the form the chat kind understands, and an image by URL where QQ takes one. The
/// sender adds msg_id / msg_seq afterwards.

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"
#include "botgate/platforms/qq/qq_events.hpp"

#include <boost/json/object.hpp>

#include <vector>

namespace botgate::qq {

/// QQ's msg_type values for the v2 (group / c2c) endpoints.
inline constexpr int kQqMsgTypeText = 0;
inline constexpr int kQqMsgTypeMarkdown = 2;

/// The body for `segments` sent to a chat of `kind`:
/// - no Markdown segment: text in `content` ({"msg_type":0,"content":..} for group / c2c;
///   {"content":..} for channel / dms, whose endpoints have no msg_type);
/// - any Markdown segment: the whole message as markdown, {"markdown":{"content":..}}, with
///   "msg_type":2 for group / c2c (links as [text](url));
/// - Text as is; Mention -> "<@user_id>" ("@everyone" for "all") in guild channels, "@name" (or
///   nothing without a name) elsewhere; Link -> "text url" (just the url when the text is empty or
///   the url itself);
/// - Image with an http(s) URL: the first one in `image` for channel / dms (QQ fetches it), any
///   other as its URL in the text. Group / c2c get the URL as text: their images need the two-step
///   rich media upload (POST .../files, then msg_type 7), which botgate does not do yet. Other
///   images (data:, platform keys) become "[image]".
/// Errors: platform_rejected for a message with nothing to send (QQ would answer 50006).
Result<boost::json::object> qq_message_body(const std::vector<Segment>& segments, QqChatKind kind);

}  // namespace botgate::qq
