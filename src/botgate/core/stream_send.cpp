#include "botgate/core/stream_send.hpp"

#include "botgate/core/platform.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <vector>

namespace botgate {
namespace json = boost::json;
std::vector<std::string> sent_ids_of(const std::string& progress) {
  std::vector<std::string> ids;
  if (progress.empty()) return ids;
  boost::system::error_code ec;
  json::value parsed = json::parse(progress, ec);
  if (ec || !parsed.is_array()) return ids;
  for (const json::value& id : parsed.get_array()) {
    if (id.is_string()) ids.emplace_back(id.get_string());
  }
  return ids;
}

std::string progress_of_sent_ids(const std::vector<std::string>& ids) {
  json::array out;
  for (const std::string& id : ids) out.emplace_back(id);
  return json::serialize(out);
}

OutgoingMessage with_stream_text(const OutgoingMessage& stream, std::string text) {
  OutgoingMessage message = stream;
  message.stream = false;
  const bool markdown =
      !stream.segments.empty() && std::holds_alternative<Markdown>(stream.segments.front());
  message.segments.clear();
  if (markdown) {
    message.segments.emplace_back(Markdown{std::move(text)});
  } else {
    message.segments.emplace_back(Text{std::move(text)});
  }
  return message;
}

asio::awaitable<Result<StreamSnapshot>> stream_ending(StreamFeed& feed) {
  std::uint64_t seen = 0;
  for (;;) {
    auto next = co_await feed.next(seen);
    if (!next) co_return next.error();
    if (next->end != StreamEnd::open) co_return std::move(*next);
    seen = next->version;
  }
}

asio::awaitable<Result<SentMessage>> send_stream_whole(Sender& sender, const OutgoingMessage& stream,
                                                       StreamFeed& feed) {
  auto ending = co_await stream_ending(feed);
  if (!ending) co_return ending.error();
  if (ending->text.empty()) {
    co_return Error{errc::platform_rejected, "the stream ended with no text: nothing to send"};
  }
  std::vector<OutgoingMessage> parts = sender.split(with_stream_text(stream, ending->text));
  std::vector<std::string> sent = sent_ids_of(feed.progress());
  for (std::size_t i = sent.size(); i < parts.size(); ++i) {
    if (i > 0) parts[i].idempotency_key = stream.idempotency_key + "-" + std::to_string(i);
    auto delivered = co_await sender.send(parts[i]);
    if (!delivered) co_return delivered.error();
    sent.push_back(delivered->platform_message_id);
    if (i + 1 < parts.size()) {
      auto saved = co_await feed.save_progress(progress_of_sent_ids(sent));
      if (!saved) co_return saved.error();
    }
  }
  co_return SentMessage{sent.empty() ? std::string{} : sent.front()};
}

}  // namespace botgate

namespace botgate {

asio::awaitable<Result<SentMessage>> Sender::send_stream(const OutgoingMessage& message,
                                                         StreamFeed& feed) {
  co_return co_await send_stream_whole(*this, message, feed);
}

}  // namespace botgate
