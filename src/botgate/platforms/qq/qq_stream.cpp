#include "botgate/platforms/qq/qq_stream.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/qq/qq_sender.hpp"

#include <boost/json.hpp>

namespace botgate::qq {
namespace json = boost::json;

std::int64_t qq_stream_msg_seq(std::string_view key, std::int64_t index) {
  const std::string digest = crypto::sha256_of({key, "#stream-chunk-", std::to_string(index)});
  std::uint32_t bits = 0;
  for (int i = 0; i < 4; ++i) bits = (bits << 8) | static_cast<unsigned char>(digest[i]);
  return static_cast<std::int64_t>(kQqRepliesPerMessage) + 1 +
         static_cast<std::int64_t>(bits % 1'000'000'000u);
}

std::optional<QqStreamChunk> next_qq_chunk(std::string_view shown, std::string_view text,
                                           bool ended, bool must_reset) {
  QqStreamChunk chunk;
  chunk.reset = must_reset || !text.starts_with(shown);
  chunk.text = std::string(chunk.reset ? text : text.substr(shown.size()));
  if (!ended) {
    if (chunk.text.empty()) return std::nullopt;
    return chunk;
  }
  chunk.last = true;
  // QQ refuses a last chunk without it ("流式消息md分片需要\n结束").
  if (!chunk.text.ends_with('\n')) chunk.text += '\n';
  return chunk;
}

std::string to_json(const QqStreamProgress& progress) {
  json::object out{{"stream_id", progress.stream_id},
                   {"index", progress.index},
                   {"sent", progress.sent}};
  return json::serialize(out);
}

std::optional<QqStreamProgress> parse_qq_stream_progress(std::string_view progress) {
  if (progress.empty()) return std::nullopt;
  auto parsed = platforms::parse_object(progress);
  if (!parsed) return std::nullopt;
  const auto index = platforms::int_at(*parsed, "index");
  if (!index || *index < 0) return std::nullopt;
  QqStreamProgress out;
  out.stream_id = platforms::string_at(*parsed, "stream_id");
  out.index = *index;
  out.sent = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, platforms::int_at(*parsed, "sent").value_or(0)));
  return out;
}

}  // namespace botgate::qq
