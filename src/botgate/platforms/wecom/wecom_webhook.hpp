#pragma once
/// WeCom callbacks at /webhook/<bot>, for group bots, self-built apps and AI bots.
/// Security posture: msg_signature (SHA-1 over the sorted token, timestamp, nonce and
/// ciphertext) is checked in constant time before anything is decrypted; the ciphertext is
/// AES-256-CBC with 32-byte PKCS#7 padding, its length field bounds-checked, and the receive id
/// after the message must equal corp_id (empty for group and AI bots); XML with a DOCTYPE or
/// ENTITY declaration is refused unparsed; app messages for another AgentID are acknowledged and
/// dropped. An AI bot's messages are answered with a passive stream whose content WeCom then
/// fetches with refresh callbacks (aibot_passive_streams.hpp).

#include "botgate/core/platform.hpp"
#include "botgate/platforms/wecom/aibot_passive_streams.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"
#include "botgate/platforms/wecom/wecom_crypto.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::wecom {

/// Removes the bot's mention at the start of `text` and the space after it, and trims. With a
/// `mention_name`, only "@<mention_name>"; without one, any leading "@name" when `in_group` (WeCom
/// pushes group messages only when they @ the bot, so the leading one is the bot's). The mention
/// ends at a space, a tab, a newline or U+2005 (the space WeCom puts after a mention).
std::string strip_leading_mention(std::string_view text, std::string_view mention_name,
                                  bool in_group);

/// An AI bot's message callback ({"msgid","aibotid","chatid","chattype","from":{"userid"},
/// "response_url","msgtype","text":{"content"}}, wecom.md §7.1) as an Event, with
/// reply_credential = response_url. Nothing for what botgate does not read (events, stream
/// refreshes, files). The webhook and the long connection (whose callbacks carry the same body,
/// and which replaces reply_credential with the callback's req_id) both read messages here, so
/// that a bot moved from one mode to the other behaves the same. Error: malformed_payload for a
/// message without msgid or from.userid.
Result<std::optional<Event>> read_aibot_message(const boost::json::object& o,
                                                const WecomConfig& config);

/// Thread safety: `handle` may run on any thread at once (the passive streams lock).
class WecomWebhook final : public WebhookHandler {
 public:
  /// `passive`: an AI bot's passive streams, shared with its sender; without them (group bots,
  /// apps) every message is answered with an empty 200.
  explicit WecomWebhook(WecomConfig config,
                        std::shared_ptr<AibotPassiveStreams> passive = nullptr);

  /// GET: URL verification, answered with the decrypted echostr as text/plain. POST: an
  /// encrypted message (XML <xml><Encrypt>, or JSON {"encrypt"} for AI bots). A group bot's or
  /// an app's is answered with an empty 200 (WeCom then expects the answer through the API). An
  /// AI bot's message is answered with an encrypted passive reply that opens a stream, and each
  /// stream refresh with the stream's content as the sender published it. Errors:
  /// bad_signature (401), decrypt_failed or bad_token (401), malformed_payload (400).
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  Result<WebhookOutcome> aibot_callback(const boost::json::object& o,
                                        std::string_view nonce) const;
  /// The encrypted JSON answer WeCom takes as an AI bot's passive reply (wecom.md 7.1).
  Result<HttpResponse> passive_reply(const boost::json::object& reply,
                                     std::string_view nonce) const;

  WecomConfig config_;
  WecomCrypto crypto_;
  std::shared_ptr<AibotPassiveStreams> passive_;
};

}  // namespace botgate::wecom
