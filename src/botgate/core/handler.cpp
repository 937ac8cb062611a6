#include "botgate/core/handler.hpp"

namespace botgate {

void HandlerContext::reply(OutgoingMessage message) {
  message.in_reply_to(event_);
  replies_.push_back(std::move(message));
}

}  // namespace botgate
