// QqSender's streamed replies: the C2C stream (qq_stream.hpp); other chats get the final text.

#include "botgate/core/stream_send.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/stream_pacing.hpp"
#include "botgate/platforms/qq/qq_markup.hpp"
#include "botgate/platforms/qq/qq_sender.hpp"
#include "botgate/platforms/qq/qq_stream.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::qq {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

asio::awaitable<Result<SentMessage>> QqSender::send_stream(const OutgoingMessage& message,
                                                           StreamFeed& feed) {
  // Only single chats have the stream, and only for a reply (a passive message): groups and
  // channels get the final text (QQ refuses `stream` there).
  const auto kind = qq_target_kind(message);
  auto saved_progress = parse_qq_stream_progress(feed.progress());
  if (kind != QqChatKind::c2c || message.reply_to.empty() || message.chat_id.empty() ||
      (!saved_progress && !feed.progress().empty())) {
    co_return co_await send_stream_whole(*this, message, feed);
  }
  QqStreamProgress progress;
  std::int64_t index = 0;
  // After a retry, what the user sees is not known (a chunk whose answer was lost may have
  // landed): the first chunk then sends the whole text again, with reset.
  bool must_reset = false;
  if (saved_progress) {
    progress = std::move(*saved_progress);
    // A first chunk whose answer is not known is sent again with its msg_seq: QQ answers a copy
    // that landed with 40054005, and one that did not lands now and says the stream's id.
    index = progress.stream_id.empty() ? progress.index : progress.index + 1;
    must_reset = !progress.stream_id.empty();
  }
  const std::string path = qq_send_path(QqChatKind::c2c, message.chat_id);
  std::string shown;  // the text the user sees (without the last chunk's "\n")
  std::uint64_t seen = 0;
  Clock::time_point last_chunk{};
  for (;;) {
    auto next = co_await platforms::next_paced(feed, seen, last_chunk + kQqStreamChunkInterval);
    if (!next) co_return next.error();
    const bool ended = next->end != StreamEnd::open;
    if (progress.stream_id.empty() && next->text.empty()) {
      // Nothing is sent before the first text; a stream that ends empty sends nothing.
      if (ended) co_return co_await send_stream_whole(*this, message, feed);
      seen = next->version;
      continue;
    }
    auto chunk = next_qq_chunk(shown, next->text, ended, must_reset);
    if (!chunk) {
      seen = next->version;
      continue;
    }
    // Saved before the chunk goes: a retry or a restart never reuses its index or msg_seq.
    progress.index = index;
    progress.sent = shown.size();
    auto saved = co_await feed.save_progress(to_json(progress));
    if (!saved) co_return saved.error();

    auto body = qq_message_body(with_stream_text(message, chunk->text).segments, QqChatKind::c2c);
    if (!body) co_return body.error();
    (*body)["msg_id"] = message.reply_to;
    (*body)["msg_seq"] = qq_stream_msg_seq(message.idempotency_key, index);
    json::object stream{{"state", chunk->last ? kQqStreamDone : kQqStreamGenerating},
                        {"index", index}};
    if (!progress.stream_id.empty()) stream["id"] = progress.stream_id;
    if (chunk->reset) stream["reset"] = true;
    (*body)["stream"] = std::move(stream);
    const std::string payload = json::serialize(*body);
    auto send_with = [&](const std::string& token) -> asio::awaitable<Result<SentMessage>> {
      auto response = co_await api_->post(path, payload, token, true);
      if (!response) co_return response.error();
      co_return read_qq_send_response(*response);
    };
    auto sent = co_await net::call_with_token(api_->tokens(), api_->bot_name(), send_with);
    last_chunk = Clock::now();
    ++index;
    if (!sent && sent.error().is(errc::rate_limited)) {
      // Refused, not shown: the same text goes with the next chunk (a fresh index and msg_seq).
      const auto wait = sent.error().retry_after.value_or(kQqStreamChunkInterval);
      co_await platforms::sleep_until(last_chunk + wait);
      continue;
    }
    if (!sent) co_return sent.error();
    if (progress.stream_id.empty()) {
      if (sent->platform_message_id.empty()) {
        // The first chunk landed before (its answer was lost) and QQ does not say the id again:
        // the stream cannot go on. The text goes as one message; the user may see the start of
        // it stay in the stream's message.
        spdlog::warn("bot {}: the stream's id is lost (its first chunk's answer was): the rest "
                     "goes as one message",
                     api_->bot_name());
        co_return co_await send_stream_whole(*this, message, feed);
      }
      progress.stream_id = sent->platform_message_id;
    }
    shown = next->text;
    must_reset = false;
    seen = next->version;
    if (chunk->last) co_return SentMessage{progress.stream_id};
  }
}

}  // namespace botgate::qq
