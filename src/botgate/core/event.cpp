#include "botgate/core/event.hpp"

namespace botgate {

const char* to_string(ChatType type) noexcept {
  switch (type) {
    case ChatType::private_chat: return "private";
    case ChatType::group: return "group";
    case ChatType::channel: return "channel";
  }
  return "private";
}

std::optional<ChatType> chat_type_from_string(std::string_view name) noexcept {
  if (name == "private") return ChatType::private_chat;
  if (name == "group") return ChatType::group;
  if (name == "channel") return ChatType::channel;
  return std::nullopt;
}

std::string chat_lane(ChatType type, std::string_view chat_id) {
  std::string key = to_string(type);
  key += '\n';
  key += chat_id;
  return key;
}

}  // namespace botgate
