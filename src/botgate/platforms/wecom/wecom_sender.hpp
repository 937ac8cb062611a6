#pragma once
/// Sends WeCom messages for the three kinds:
/// - group bot: POST the JSON message to the WebhookUrl of the callback replied to (else to
///   webhook_url), at most 20 a minute per webhook (counted in the store by every instance
///   together, Store::rate_take, so the bot waits instead of hitting 45009; a 45009 all the
///   same holds the webhook for every instance, Store::rate_hold);
/// - app: POST {api_base}/cgi-bin/message/send?access_token=.. with touser and agentid; the token
///   comes from a TokenCache and is fetched again once when WeCom rejects it. WeCom's duplicate
///   check is on, so a send whose answer was lost is tried again (within its interval);
/// - AI bot in callback mode: the reply to a message is the content of the passive stream its
///   callback opened, which WeCom fetches with refresh callbacks (aibot_passive.cpp); when that
///   stream cannot take it (another reply has it, WeCom stopped asking), a markdown message
///   POSTed to the callback's response_url (usable once, for an hour). With a long connection,
///   over it: a reply as the callback's answer (aibot_respond_msg, a
///   finished stream on the callback's req_id), anything else, or a reply whose req_id the
///   platform no longer knows (a connection since replaced), as aibot_send_msg to the chat.
/// Group webhooks and response_url have no idempotency key: a send whose answer was lost
/// after the request went out is errc::delivery_uncertain, never sent again.

#include "botgate/core/platform.hpp"
#include "botgate/net/token_cache.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/wecom/aibot_link.hpp"
#include "botgate/platforms/wecom/aibot_passive_streams.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::wecom {

/// Group bots: "每个机器人发送的消息不能超过20条/分钟" (doc 99110).
inline constexpr std::size_t kGroupMessagesPerMinute = 20;
/// Apps: a member receives at most 30 messages a minute; WeCom drops the rest silently
/// (doc 90312), so botgate holds them back instead (counted in the store, like the group bots').
inline constexpr std::size_t kAppMessagesPerMemberPerMinute = 30;

/// Thread safety: every call on the bot's strand (PlatformServices::executor).
class WecomSender final : public Sender {
 public:
  /// `link`: an AI bot's long connection (config.long_connection), else null. `passive`: an AI
  /// bot's passive streams in callback mode, shared with its webhook, else null.
  WecomSender(WecomConfig config, platforms::PlatformServices& services,
              std::shared_ptr<AibotLink> link = nullptr,
              std::shared_ptr<AibotPassiveStreams> passive = nullptr);

  /// Apps: fetches the access token. Group and AI bots have nothing to prepare.
  asio::awaitable<Result<void>> prepare() override;
  std::optional<SystemTime> token_expires_at() const override {
    return tokens_ ? tokens_->expires_at() : std::nullopt;
  }
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  /// An AI bot's reply over its long connection (aibot_stream.cpp): the `stream` message type
  /// on the callback's req_id, the full text each time (at most every 500 ms), finished at the
  /// end; text past the stream's 20,480 bytes follows as messages to the chat. In callback mode
  /// (aibot_passive.cpp): the content of the message's passive stream, the full text as it
  /// grows, which WeCom's refreshes fetch. Everything else (group bots, apps, a req_id of an
  /// earlier connection, a passive stream that cannot take it): the final text.
  asio::awaitable<Result<SentMessage>> send_stream(const OutgoingMessage& message,
                                                   StreamFeed& feed) override;
  /// An AI bot in callback mode: the message's passive stream is finished empty.
  void no_reply(const Event& event) override;
  /// Apps only: group bots and AI bots have no call to take a message back.
  bool can_recall() const override { return config_.kind == WecomKind::app; }
  /// POST /cgi-bin/message/recall {"msgid"} (an app's messages, within 24 hours of sending).
  asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                       const std::string& platform_message_id) override;
  /// split_message() for this bot's kind.
  std::vector<OutgoingMessage> split(OutgoingMessage message) const override;
  /// AI bots: merge_for_response_url() (one POST per response_url); the others: split() each.
  std::vector<OutgoingMessage> split_replies(std::vector<OutgoingMessage> replies) const override;

 private:
  asio::awaitable<Result<net::FetchedToken>> fetch_token();
  asio::awaitable<Result<SentMessage>> send_group(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_app(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_aibot(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_aibot_longconn(const OutgoingMessage& message);
  /// POST a markdown message to the message's response_url.
  asio::awaitable<Result<SentMessage>> post_to_response_url(const OutgoingMessage& message);
  /// The reply as its passive stream's finished content (aibot_passive.cpp); nothing when the
  /// stream cannot take it.
  asio::awaitable<Result<std::optional<SentMessage>>> send_passive(const OutgoingMessage& message);
  asio::awaitable<Result<SentMessage>> send_stream_passive(const OutgoingMessage& message,
                                                           StreamFeed& feed);
  /// Waits until the finished content of passive stream `id` was fetched (true) or WeCom
  /// stopped asking for it (false).
  asio::awaitable<bool> passive_delivered(const std::string& id);
  asio::awaitable<Result<HttpResponse>> post(std::string url, std::string body);
  /// An app message's send may have arrived (`uncertain`): retryable while a retry still falls
  /// in WeCom's duplicate check interval from the first such attempt, else left uncertain.
  Error after_uncertain_app_send(const OutgoingMessage& message, Error uncertain);

  WecomConfig config_;
  net::HttpClient& http_;
  std::optional<net::TokenCache> tokens_;  // apps only
  std::shared_ptr<AibotLink> link_;        // AI bots with a long connection only
  std::shared_ptr<AibotPassiveStreams> passive_;  // AI bots in callback mode only
  Store& store_;  // the shared rate limits: per webhook key (group), per member (app)
  /// App messages by idempotency key: when a send of it first may have arrived unanswered.
  std::map<std::string, std::chrono::steady_clock::time_point> uncertain_since_;
};

/// Reads a WeCom API answer (HTTP 200 with errcode/errmsg): 0 -> the msgid (empty for
/// webhooks); 45009 or HTTP 429 -> rate_limited for 60 s ("被屏蔽 60 秒", doc 90312); 45033 ->
/// rate_limited for 5 s; 40014, 42001, 42007, 42009, 40001 -> token_rejected; -1, 5xx or no
/// errcode -> platform_unavailable; any other errcode -> platform_rejected with errcode and
/// errmsg.
Result<std::string> read_send_response(const HttpResponse& response);

/// The name a webhook URL is counted under: its `key` parameter, or the URL without its query
/// when it has none.
std::string webhook_key(std::string_view url);

/// The store's rate key of a group bot webhook (a digest of webhook_key(url), never the key):
/// every bot and instance that posts to the webhook counts under it.
std::string webhook_rate_key(std::string_view url);

/// The store's rate key of an app's messages to `member` (a digest, never the user id).
std::string member_rate_key(const WecomConfig& config, std::string_view member);

/// `url` with WeCom's host replaced by `api_base` when api_base is not the default, so that a
/// bot pointed at a proxy or a test server sends every call there, callback URLs included.
std::string rebase_url(std::string_view url, std::string_view api_base);

/// The longest content of an AI bot's stream, bytes: the whole text each time (wecom.md 7.1).
inline constexpr std::size_t kAibotStreamContentBytes = 20480;

/// errcode of aibot_respond_msg for a req_id that is not a callback of this connection.
inline constexpr std::int64_t kAibotUnknownReqId = 846605;

/// Reads the answer to an AI bot's long-connection request: 0 -> sent; 45009 -> rate_limited
/// for 60 s; -1 -> platform_unavailable; anything else -> platform_rejected with errcode and
/// errmsg.
Result<void> read_aibot_answer(const AibotAnswer& answer, std::string_view cmd);

}  // namespace botgate::wecom
