// WecomSender's streamed replies over an AI bot's long connection (see wecom_sender.hpp).
#include "botgate/platforms/wecom/wecom_sender.hpp"

#include "botgate/core/stream_send.hpp"
#include "botgate/core/utf8.hpp"
#include "botgate/platforms/common/stream_pacing.hpp"
#include "botgate/platforms/wecom/wecom_markup.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace botgate::wecom {
namespace json = boost::json;
namespace {

/// The official clients flush about twice a second.
constexpr std::chrono::milliseconds kUpdateInterval{500};

}  // namespace

asio::awaitable<Result<SentMessage>> WecomSender::send_stream(const OutgoingMessage& message,
                                                             StreamFeed& feed) {
  if (passive_ && !message.reply_credential.empty()) {
    co_return co_await send_stream_passive(message, feed);
  }
  if (!link_ || message.reply_credential.empty() ||
      !link_->is_current_callback(message.reply_credential)) {
    // No callback to stream into (or one of an earlier connection, whose req_id died with it).
    co_return co_await send_stream_whole(*this, message, feed);
  }
  const std::string& stream_id = message.idempotency_key;
  std::chrono::steady_clock::time_point last_update{};
  std::uint64_t seen = 0;
  for (;;) {
    auto next = co_await platforms::next_paced(feed, seen, last_update + kUpdateInterval);
    if (!next) co_return next.error();
    seen = next->version;
    const bool ended = next->end != StreamEnd::open;
    if (!ended && next->text.empty()) continue;
    auto content = encode_content(with_stream_text(message, next->text), config_.kind);
    if (!content) co_return content.error();
    const std::size_t shown = utf8_prefix_length(content->content, kAibotStreamContentBytes);
    json::object stream{{"id", stream_id},
                        {"finish", ended},
                        {"content", content->content.substr(0, shown)}};
    json::object body{{"msgtype", "stream"}, {"stream", std::move(stream)}};
    auto answer =
        co_await link_->request("aibot_respond_msg", std::move(body), message.reply_credential);
    if (!answer) {
      // Each update carries the whole text under the same stream id: one sent twice shows the
      // same, so an unanswered one may be sent again.
      if (answer.error().is(errc::delivery_uncertain)) {
        co_return Error{errc::platform_unavailable, answer.error().detail};
      }
      co_return answer.error();
    }
    if (answer->errcode == kAibotUnknownReqId) {
      // The connection changed under the stream: the chat gets the final text unprompted.
      OutgoingMessage unprompted = message;
      unprompted.reply_credential.clear();
      co_return co_await send_stream_whole(*this, unprompted, feed);
    }
    auto sent = read_aibot_answer(*answer, "aibot_respond_msg");
    if (!sent) co_return sent.error();
    last_update = std::chrono::steady_clock::now();
    if (!ended) continue;
    if (shown < content->content.size()) {
      spdlog::info("bot {}: a streamed reply of {} bytes: the rest follows the stream's {} as "
                   "messages",
                   config_.bot_name, content->content.size(), shown);
      OutgoingMessage rest = with_stream_text(message, content->content.substr(shown));
      rest.reply_credential.clear();
      for (OutgoingMessage& part : split(std::move(rest))) {
        auto delivered = co_await send(part);
        if (!delivered) co_return delivered.error();
      }
    }
    co_return SentMessage{stream_id};
  }
}

}  // namespace botgate::wecom
