#pragma once
/// Feishu/Lark event callbacks at /webhook/<bot>.
/// Security posture: with an encrypt_key, X-Lark-Signature (SHA-256 over timestamp, nonce, key
/// and the raw body) is checked before anything is decrypted, and the body is AES-256-CBC
/// decrypted; the one unsigned body accepted is an encrypted URL verification, and every other
/// unsigned body gets one identical 401 (no padding oracle). The verification token is checked
/// whenever one is configured (the config requires it or the encrypt_key); events for another
/// app_id are acknowledged and dropped.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_events.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace botgate::feishu {

class FeishuWebhook final : public WebhookHandler {
 public:
  FeishuWebhook(FeishuConfig config, std::shared_ptr<const BotIdentity> identity);
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  /// The challenge answer {"challenge": ..} to a url_verification object.
  static Result<WebhookOutcome> challenge_answer(const boost::json::object& verification);
  /// An encrypted body without X-Lark-Signature: the challenge, or one uniform refusal.
  Result<WebhookOutcome> answer_unsigned(const boost::json::value& encrypted,
                                         boost::json::storage_ptr storage) const;
  /// The plaintext of an `encrypt` value, or decrypt_failed.
  Result<std::string> decrypt(std::string_view encrypt) const;
  /// True when `token` is the configured verification token, or none is configured.
  bool token_matches(std::string_view token) const;

  FeishuConfig config_;
  std::string aes_key_;  // SHA-256 of encrypt_key
  std::shared_ptr<const BotIdentity> identity_;
};

}  // namespace botgate::feishu
