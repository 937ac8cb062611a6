#pragma once
/// Sends QQ messages (QQ notes section 6): POST {api_base}{path} with `Authorization: QQBot
/// <token>` and `X-Union-Appid`, the path chosen by the QqChatKind in reply_context: channel ->
/// /channels/{id}/messages, dms -> /dms/{guild_id}/messages, group ->
/// /v2/groups/{group_openid}/messages, c2c -> /v2/users/{user_openid}/messages. Replies are passive
/// messages: msg_id = reply_to and a msg_seq derived from the idempotency key, so a retry or a
/// restart reuses the same msg_seq and QQ's dedup (40054005) keeps a message that already landed
/// from being posted twice. Since 2025-04-21 groups and single chats take only replies (notes 6.2).

#include "botgate/core/platform.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/qq/qq_api.hpp"
#include "botgate/platforms/qq/qq_config.hpp"
#include "botgate/platforms/qq/qq_events.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::qq {

/// How long to wait after a rate limit when QQ says nothing (it documents no headers).
inline constexpr std::chrono::seconds kQqDefaultRetryAfter{5};
/// Passive replies QQ takes to one message in groups and single chats (notes 6.2, "replies per
/// message: 5"); the sixth is refused with 22009 "msg limit exceed".
inline constexpr std::size_t kQqRepliesPerMessage = 5;

/// The replies of one event as QQ takes them: in a group or single chat, the replies to one
/// message (msg_id) past the fifth are merged into the fifth (their segments after a line
/// break), so that none is refused. Channel and DM replies, and the first five, stay as they are.
std::vector<OutgoingMessage> merge_passive_replies(std::vector<OutgoingMessage> replies);

/// Thread safety: every call on the bot's strand (PlatformServices::executor).
class QqSender final : public Sender {
 public:
  explicit QqSender(std::shared_ptr<QqApi> api);
  /// With an API client of its own.
  QqSender(QqConfig config, platforms::PlatformServices& services);

  /// Fetches the access token.
  asio::awaitable<Result<void>> prepare() override;
  std::optional<SystemTime> token_expires_at() const override { return api_->token_expires_at(); }
  /// Sends one message; a token QQ rejects is fetched anew and the send tried once more.
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  /// In a single chat, as a reply: QQ's C2C stream, one chunk a second (qq_stream.hpp;
  /// qq_stream_sender.cpp). Elsewhere the final text, as send() sends it.
  asio::awaitable<Result<SentMessage>> send_stream(const OutgoingMessage& message,
                                                   StreamFeed& feed) override;
  bool can_recall() const override { return true; }
  /// DELETE on the send path of the message's chat kind plus /{message_id} (channels with
  /// hidetip=false); QQ takes back group and single-chat messages within 2 minutes of sending.
  asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                       const std::string& platform_message_id) override;
  /// merge_passive_replies().
  std::vector<OutgoingMessage> split_replies(std::vector<OutgoingMessage> replies) const override {
    return merge_passive_replies(std::move(replies));
  }

  QqApi& api() noexcept { return *api_; }

 private:
  std::shared_ptr<QqApi> api_;
};

/// The chat kind that `message` is sent to: the QqChatKind named by reply_context; with an empty
/// reply_context, by chat_type (channel, group, c2c for private); nullopt for a reply_context
/// that names no kind.
std::optional<QqChatKind> qq_target_kind(const OutgoingMessage& message);

/// The path (under api_base) of the send endpoint of `kind` for chat `chat_id` (percent-encoded).
std::string qq_send_path(QqChatKind kind, std::string_view chat_id);

/// The msg_seq of a reply: 1 + i for an idempotency key ending in "-<i>" (the runtime's i-th reply
/// to an event); for a key that starts with kSendKeyMark (a message sent through the API or
/// OneBot, which may answer a message the bot answered before), a number from 6 up made from the
/// whole key, so that two such messages to one msg_id do not share one and neither takes an
/// event reply's; else 1.
std::int64_t qq_msg_seq(std::string_view idempotency_key);

/// Reads a send answer (notes 6.4):
/// - 2xx without a non-zero code: the message `id`;
/// - 304023 / 304024 (HTTP 201/202, the message waits for a manual audit) and 40054005 (a message
///   with this msg_id and msg_seq already landed: an earlier attempt went through): success with an
///   empty id;
/// - 11241, 11243, 11244, or HTTP 401 without a code: token_rejected;
/// - HTTP 429, 20028, 1100100, 1100308, 610013: rate_limited (Retry-After seconds if
///   present, else kQqDefaultRetryAfter);
/// - 22009 (a sixth reply to one message): platform_rejected, for good (no wait makes QQ take it);
/// - HTTP 5xx, no JSON, and the codes QQ marks retryable (11242, 11252, 11263, 11281, 306003,
///   306005, 306006, 501002-501012, 304082, 304083): platform_unavailable;
/// - any other code or status: platform_rejected "qq <code>: <message>" (304027: the passive reply
///   window passed, 5 min in groups and channels, 60 min in single chats).
Result<SentMessage> read_qq_send_response(const HttpResponse& response);

}  // namespace botgate::qq
