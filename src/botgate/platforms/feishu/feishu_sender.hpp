#pragma once
/// Sends through the IM v1 API: replies with POST /open-apis/im/v1/messages/{id}/reply, other
/// messages with POST /open-apis/im/v1/messages?receive_id_type=chat_id, each with a `uuid` so a
/// retried send is delivered at most once. The tenant_access_token comes from a TokenCache.

#include "botgate/core/platform.hpp"
#include "botgate/net/token_cache.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::feishu {

/// Thread safety: every call on the bot's strand (PlatformServices::executor).
class FeishuSender final : public Sender {
 public:
  FeishuSender(FeishuConfig config, platforms::PlatformServices& services,
               std::shared_ptr<BotIdentity> identity);

  asio::awaitable<Result<void>> prepare() override;
  std::optional<SystemTime> token_expires_at() const override {
    return tokens_.expires_at();
  }
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  /// A CardKit card that grows with the text (feishu_card_stream.hpp; feishu_card_sender.cpp);
  /// the final text as a plain message when the card cannot be created.
  asio::awaitable<Result<SentMessage>> send_stream(const OutgoingMessage& message,
                                                   StreamFeed& feed) override;
  bool can_recall() const override { return true; }
  /// DELETE /open-apis/im/v1/messages/{id}: the bot's own messages (others' only where the bot
  /// is the group's owner or an admin, as Feishu decides). Code 230011, recalled already: done.
  asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                       const std::string& platform_message_id) override;

 private:
  asio::awaitable<Result<net::FetchedToken>> fetch_token();
  /// Sets the BotIdentity from /open-apis/bot/v3/info.
  asio::awaitable<Result<void>> learn_identity(const std::string& token);
  /// Sends `msg_type` and `content` to where `message` goes (its chat, or a reply to its
  /// reply_to), with its idempotency key as the uuid.
  asio::awaitable<Result<SentMessage>> post_message(const OutgoingMessage& message,
                                                    const std::string& msg_type,
                                                    const std::string& content);
  /// Takes one use of each of Feishu's per-app send limits (kSendLimits), shared by the
  /// instances on the store; rate_limited (the message waits in the outbox) when one is used up.
  asio::awaitable<Result<void>> take_send_rate();
  /// POST /open-apis/cardkit/v1/cards: the new card entity's id.
  asio::awaitable<Result<std::string>> create_card(const std::string& card_json);
  /// A card operation (PUT content, PATCH settings) on `path` under the API base, with `body`.
  asio::awaitable<Result<void>> card_call(http::verb verb, const std::string& path,
                                          const std::string& body);

  FeishuConfig config_;
  net::HttpClient& http_;
  Store& store_;  // the shared send limits
  const std::vector<std::string> send_rate_keys_;  // kSendLimits' keys, in their order
  std::shared_ptr<BotIdentity> identity_;
  net::TokenCache tokens_;
};

/// A message id as the {message_id} segment of a reply URL: percent-encoded, so that no id can
/// add a segment, a query or a fragment; "." and ".." (and an empty id) are platform_rejected.
Result<std::string> message_id_segment(std::string_view message_id);

/// Reads a Feishu API answer: code 0 -> the data; the token codes -> token_rejected; 429 or
/// 99991400 / 230020 -> rate_limited with x-ogw-ratelimit-reset; 5xx -> platform_unavailable;
/// any other code -> platform_rejected with the code and msg.
Result<std::string> read_send_response(const HttpResponse& response);

/// Reads the answer to a card creation: read_send_response's errors, else data.card_id
/// (platform_unavailable when it is missing).
Result<std::string> read_card_created(const HttpResponse& response);

}  // namespace botgate::feishu
