#pragma once
/// Whether a message is meant for the bot, for the built-in handlers.

#include "botgate/core/event.hpp"

namespace botgate::handlers {

/// A private chat, or a message that mentions the bot or that its platform delivers only when
/// addressed to the bot (`Message::mentions_bot`, set by each platform's parser: WeCom, QQ group
/// and channel @-messages, Discord replies to the bot, the sandbox). Echo answers only these; a
/// rule with `mention = true` likewise. A Discord bot with the message_content intent, a QQ
/// private bot or a Feishu app with the group-message scope sees every message of its channels.
inline bool addressed_to_bot(const Event& event) noexcept {
  return event.message &&
         (event.message->mentions_bot || event.chat.type == ChatType::private_chat);
}

}  // namespace botgate::handlers
