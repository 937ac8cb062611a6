#include "botgate/core/message_status.hpp"

#include <algorithm>

namespace botgate {

OutboxStatus message_status(std::vector<StoredPart> parts, const OutgoingMessage& first) {
  OutboxStatus status;
  status.bot = parts.front().bot;
  status.platform_message_id = parts.front().part.platform_message_id;
  status.chat_id = first.chat_id;
  status.chat_type = first.chat_type;
  status.reply_context = first.reply_context;
  status.recall = first.recall;
  auto in = [&](OutboxState state) {
    return std::find_if(parts.begin(), parts.end(),
                        [state](const StoredPart& p) { return p.part.state == state; });
  };
  auto deciding = in(OutboxState::failed);
  if (deciding == parts.end()) deciding = in(OutboxState::queued);
  if (deciding == parts.end()) deciding = parts.end() - 1;
  status.state = deciding->part.state;
  status.attempts = deciding->attempts;
  status.last_error = std::move(deciding->last_error);
  status.parts.reserve(parts.size());
  for (StoredPart& p : parts) status.parts.push_back(std::move(p.part));
  return status;
}

}  // namespace botgate
