#pragma once
/// OutgoingMessage segments -> Feishu `msg_type` and `content` (a JSON document in a string).

#include "botgate/core/outgoing.hpp"

#include <string>

namespace botgate::feishu {

struct FeishuContent {
  std::string msg_type;  // "text" or "post"
  std::string content;   // JSON text, sent as a JSON string value
};

/// Text and mentions only -> `text` with `<at user_id="..">` tags; anything richer (markdown,
/// links, images) -> `post` with text, md, a, at and img elements. Only a Mention segment
/// mentions anyone: a `<` in Text gets a zero-width space after it, so that no `<at>` typed by a
/// user becomes a tag.
FeishuContent encode_content(const OutgoingMessage& message);

}  // namespace botgate::feishu
