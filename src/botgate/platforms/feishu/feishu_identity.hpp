#pragma once
/// The bot's own open_id, learnt from /open-apis/bot/v3/info when the sender gets ready and read
/// by the webhook to tell mentions of the bot from other mentions.

#include <mutex>
#include <string>

namespace botgate::feishu {

/// Thread safety: set on the bot's strand, read by webhook handling on any thread.
class BotIdentity {
 public:
  void set_open_id(std::string open_id) {
    std::lock_guard lock(mutex_);
    open_id_ = std::move(open_id);
  }
  std::string open_id() const {
    std::lock_guard lock(mutex_);
    return open_id_;
  }

 private:
  mutable std::mutex mutex_;  // guards open_id_
  std::string open_id_;
};

}  // namespace botgate::feishu
