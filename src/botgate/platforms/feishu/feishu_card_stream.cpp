#include "botgate/platforms/feishu/feishu_card_stream.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json.hpp>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

// Card JSON is limited to 30 KB: a longer first text goes in with the first update instead.
constexpr std::size_t kCardCreateTextMax = 16 * 1024;

}  // namespace

std::string initial_card_text(std::string_view text) {
  return text.size() <= kCardCreateTextMax ? card_text(text) : std::string();
}

std::string streaming_card_json(std::string_view content) {
  // streaming_config: how fast the client types out the text between two updates
  // (cardkit streaming-updates-openapi-overview); "fast" shows the whole of an update at once
  // when the next one comes before the typing ended.
  json::object streaming_config{{"print_frequency_ms", json::object{{"default", 30}}},
                                {"print_step", json::object{{"default", 2}}},
                                {"print_strategy", "fast"}};
  json::object config{{"streaming_mode", true},
                      {"update_multi", true},
                      {"streaming_config", std::move(streaming_config)}};
  json::array elements;
  elements.emplace_back(json::object{{"tag", "markdown"},
                                     {"element_id", std::string(kCardElementId)},
                                     {"content", std::string(content)}});
  json::object card{{"schema", "2.0"},
                    {"config", std::move(config)},
                    {"body", json::object{{"elements", std::move(elements)}}}};
  return json::serialize(card);
}

std::string card_text(std::string_view text) {
  std::size_t chars = 0;
  std::size_t cut = text.size();  // where the character that the "…" takes the place of starts
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // inside a character
    if (chars == kCardTextMaxChars - 1) cut = i;
    ++chars;
  }
  if (chars <= kCardTextMaxChars) return std::string(text);
  return std::string(text.substr(0, cut)) + "\u2026";
}

std::string card_streaming_settings(bool on) {
  json::object settings{{"config", json::object{{"streaming_mode", on}}}};
  return json::serialize(settings);
}

std::string card_op_uuid(std::string_view key, std::int64_t sequence) {
  // The key can be long and hold any character: its digest keeps the uuid short and plain.
  return crypto::to_hex(crypto::sha256(key)).substr(0, 40) + "-" + std::to_string(sequence);
}

std::string to_json(const CardStreamProgress& progress) {
  json::object out{{"card_id", progress.card_id},
                   {"sequence", progress.sequence},
                   {"message_id", progress.message_id}};
  return json::serialize(out);
}

std::optional<CardStreamProgress> parse_card_progress(std::string_view progress) {
  if (progress.empty()) return std::nullopt;
  auto parsed = platforms::parse_object(progress);
  if (!parsed) return std::nullopt;
  CardStreamProgress out;
  out.card_id = platforms::string_at(*parsed, "card_id");
  if (out.card_id.empty()) return std::nullopt;
  out.sequence = platforms::int_at(*parsed, "sequence").value_or(0);
  if (out.sequence < 0) return std::nullopt;
  out.message_id = platforms::string_at(*parsed, "message_id");
  return out;
}

}  // namespace botgate::feishu
