#include "botgate/core/handler.hpp"

namespace botgate {

void HandlerContext::reply(OutgoingMessage message) {
  message.in_reply_to(event_);
  replies_.push_back(std::move(message));
}

void HandlerContext::fail(std::string reason, std::chrono::milliseconds retry_after) {
  failure_ = std::move(reason);
  retry_after_ = retry_after;
}

}  // namespace botgate
