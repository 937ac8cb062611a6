// WecomSender's replies as an AI bot's passive streams, in callback mode (see
// aibot_passive_streams.hpp): the sender publishes, WeCom's refresh callbacks fetch.
#include "botgate/platforms/wecom/wecom_sender.hpp"

#include "botgate/core/stream_send.hpp"
#include "botgate/core/utf8.hpp"
#include "botgate/platforms/common/stream_pacing.hpp"
#include "botgate/platforms/wecom/wecom_markup.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace botgate::wecom {
namespace {

using Clock = AibotPassiveStreams::Clock;

/// How often the sender looks whether a refresh fetched the finished content: WeCom asks about
/// once a second, so this adds little to the time a reply takes to count as sent.
constexpr std::chrono::milliseconds kDeliveryPoll{100};

/// The content a stream shows for `message`: its markdown, cut at the stream's limit. An empty
/// message (a stream that ended with no text) shows nothing.
Result<std::string> stream_content(const OutgoingMessage& message, WecomKind kind) {
  if (message.segments.empty()) return std::string();
  auto content = encode_content(message, kind);
  if (!content) return content.error();
  return std::move(content->content);
}

/// A message that carries `content` (markdown, as the stream showed its start) on from where
/// the stream's limit cut it.
OutgoingMessage rest_of(const OutgoingMessage& message, std::string content) {
  OutgoingMessage rest = OutgoingMessage::markdown(std::move(content));
  rest.bot = message.bot;
  rest.chat_id = message.chat_id;
  rest.chat_type = message.chat_type;
  rest.reply_credential = message.reply_credential;
  return rest;
}

}  // namespace

void WecomSender::no_reply(const Event& event) {
  if (!passive_ || event.reply_credential.empty()) return;
  passive_->finish_unanswered(AibotPassiveStreams::stream_id_for(event.reply_credential),
                              Clock::now());
}

asio::awaitable<bool> WecomSender::passive_delivered(const std::string& id) {
  for (;;) {
    switch (passive_->delivery(id, Clock::now())) {
      case AibotPassiveStreams::Delivery::delivered: co_return true;
      case AibotPassiveStreams::Delivery::closed: co_return false;
      case AibotPassiveStreams::Delivery::waiting: break;
    }
    co_await platforms::sleep_until(Clock::now() + kDeliveryPoll);
  }
}

asio::awaitable<Result<std::optional<SentMessage>>> WecomSender::send_passive(
    const OutgoingMessage& message) {
  using None = std::optional<SentMessage>;
  if (message.reply_credential.empty()) co_return None{};
  auto content = stream_content(message, config_.kind);
  if (!content) co_return content.error();
  const std::string id = AibotPassiveStreams::stream_id_for(message.reply_credential);
  const std::size_t shown = utf8_prefix_length(*content, kAibotStreamContentBytes);
  const auto published = passive_->publish(id, message.idempotency_key, content->substr(0, shown),
                                           true, Clock::now());
  if (published == AibotPassiveStreams::Published::closed) co_return None{};
  if (!co_await passive_delivered(id)) {
    // No refresh took it, so WeCom never showed it: the response_url carries it instead.
    spdlog::info("bot {}: WeCom stopped asking for the reply's stream; sending it through the "
                 "response_url", config_.bot_name);
    co_return None{};
  }
  if (shown < content->size()) {
    auto rest = co_await post_to_response_url(rest_of(message, content->substr(shown)));
    if (!rest) co_return rest.error();
  }
  co_return None{SentMessage{id}};
}

asio::awaitable<Result<SentMessage>> WecomSender::send_stream_passive(const OutgoingMessage& message,
                                                                     StreamFeed& feed) {
  const std::string id = AibotPassiveStreams::stream_id_for(message.reply_credential);
  std::uint64_t seen = 0;
  for (;;) {
    // No pacing: publishing only changes what the next refresh fetches.
    auto next = co_await feed.next(seen);
    if (!next) co_return next.error();
    seen = next->version;
    const bool ended = next->end != StreamEnd::open;
    if (!ended && next->text.empty()) continue;  // WeCom shows the bot answering meanwhile
    auto content = stream_content(with_stream_text(message, next->text), config_.kind);
    if (!content) co_return content.error();
    const std::size_t shown = utf8_prefix_length(*content, kAibotStreamContentBytes);
    const auto published = passive_->publish(id, message.idempotency_key,
                                             content->substr(0, shown), ended, Clock::now());
    if (published == AibotPassiveStreams::Published::closed) {
      // Another reply has the stream, or WeCom stopped asking (its window is over): the final
      // text goes through the response_url.
      co_return co_await send_stream_whole(*this, message, feed);
    }
    if (!ended) continue;
    if (!co_await passive_delivered(id)) {
      spdlog::info("bot {}: WeCom stopped asking for a streamed reply; sending its final text "
                   "through the response_url", config_.bot_name);
      co_return co_await post_to_response_url(with_stream_text(message, next->text));
    }
    if (shown < content->size()) {
      auto rest = co_await post_to_response_url(rest_of(message, content->substr(shown)));
      if (!rest) co_return rest.error();
    }
    co_return SentMessage{id};
  }
}

}  // namespace botgate::wecom
