#include "botgate/core/outgoing.hpp"

namespace botgate {

OutgoingMessage& OutgoingMessage::in_reply_to(const Event& event) {
  bot = event.bot;
  chat_id = event.chat.id;
  chat_type = event.chat.type;
  reply_to = event.message ? event.message->id : std::string{};
  reply_to_user = event.sender.id;
  reply_context = event.reply_context;
  reply_credential = event.reply_credential;
  return *this;
}

std::string OutgoingMessage::lane() const { return chat_lane(chat_type, chat_id); }

std::string OutgoingMessage::plain_text() const {
  std::string out;
  for (const Segment& segment : segments) {
    if (const auto* text = std::get_if<Text>(&segment)) {
      out += text->text;
    } else if (const auto* md = std::get_if<Markdown>(&segment)) {
      out += md->markdown;
    } else if (const auto* link = std::get_if<Link>(&segment)) {
      out += link->text.empty() ? link->url : link->text;
    } else if (const auto* mention = std::get_if<Mention>(&segment)) {
      out += "@" + (mention->name.empty() ? mention->user_id : mention->name);
    }
  }
  return out;
}

}  // namespace botgate
