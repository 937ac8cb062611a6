#pragma once
/// Feishu/Lark event callbacks at /webhook/<bot>.
/// Security posture: with an encrypt_key, X-Lark-Signature (SHA-256 over timestamp, nonce, key
/// and the raw body) is required on every event and the body is AES-256-CBC decrypted; the
/// verification token is checked whenever one is configured; events for another app_id are
/// acknowledged and dropped.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"

#include <memory>
#include <string>
#include <vector>

namespace botgate::feishu {

/// One `mentions[]` entry of a message event.
struct MentionKey {
  std::string key;      // "@_user_1"
  std::string open_id;
  std::string user_id;
  std::string name;
};

/// The result of turning Feishu text with `@_user_N` placeholders into botgate's model.
struct StrippedText {
  std::string text;               // bot mentions removed, others as "@name", trimmed
  std::vector<Segment> segments;  // Text and Mention segments in order
  bool mentions_bot = false;
};

/// Replaces mention keys in `text`. A mention is the bot's when its open_id is `bot_open_id`
/// (or, while that is unknown, when it has no user_id, as app mentions have none).
StrippedText strip_mentions(std::string_view text, const std::vector<MentionKey>& mentions,
                            const std::string& bot_open_id);

class FeishuWebhook final : public WebhookHandler {
 public:
  FeishuWebhook(FeishuConfig config, std::shared_ptr<const BotIdentity> identity);
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  FeishuConfig config_;
  std::string aes_key_;  // SHA-256 of encrypt_key
  std::shared_ptr<const BotIdentity> identity_;
};

}  // namespace botgate::feishu
