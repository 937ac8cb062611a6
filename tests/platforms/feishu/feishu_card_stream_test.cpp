#include "botgate/platforms/feishu/feishu_card_stream.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace botgate::feishu {
namespace {

namespace json = boost::json;

TEST(FeishuCardStreamTest, TheCardIsJson2WithStreamingOnAndOneMarkdownElement) {
  const json::value card = json::parse(streaming_card_json("Thinking \"hard\"\n**now**"));
  EXPECT_EQ(card.at("schema"), "2.0");
  const json::object& config = card.at("config").as_object();
  EXPECT_EQ(config.at("streaming_mode"), true);
  EXPECT_EQ(config.at("update_multi"), true);
  EXPECT_EQ(config.at("streaming_config").at("print_strategy"), "fast");
  EXPECT_TRUE(config.at("streaming_config").at("print_frequency_ms").at("default").is_int64());
  const json::array& elements = card.at("body").at("elements").as_array();
  ASSERT_EQ(elements.size(), 1u);
  EXPECT_EQ(elements[0].at("tag"), "markdown");
  EXPECT_EQ(elements[0].at("element_id").as_string(), kCardElementId);
  EXPECT_EQ(elements[0].at("content"), "Thinking \"hard\"\n**now**");
}

TEST(FeishuCardStreamTest, ALongFirstTextIsLeftToTheFirstUpdate) {
  EXPECT_EQ(initial_card_text("short"), "short");
  EXPECT_EQ(initial_card_text(std::string(16 * 1024, 'x')), std::string(16 * 1024, 'x'));
  EXPECT_EQ(initial_card_text(std::string(16 * 1024 + 1, 'x')), "");
}

TEST(FeishuCardStreamTest, CardTextKeepsAtMostTheCharactersAnUpdateTakes) {
  EXPECT_EQ(card_text("abc"), "abc");
  const std::string exact(kCardTextMaxChars, 'a');
  EXPECT_EQ(card_text(exact), exact);
  // Characters, not bytes: 100000 three-byte characters fit; one more is cut with an ellipsis.
  std::string wide;
  for (std::size_t i = 0; i < kCardTextMaxChars; ++i) wide += "\xe4\xb8\xad";  // 中
  EXPECT_EQ(card_text(wide), wide);
  const std::string cut = card_text(wide + "\xe4\xb8\xad");
  EXPECT_EQ(cut.size(), (kCardTextMaxChars - 1) * 3 + 3);
  EXPECT_TRUE(cut.ends_with("\xe2\x80\xa6"));  // …
  EXPECT_TRUE(cut.starts_with("\xe4\xb8\xad"));
}

TEST(FeishuCardStreamTest, SettingsSwitchStreamingMode) {
  EXPECT_EQ(json::parse(card_streaming_settings(false)),
            json::parse(R"({"config":{"streaming_mode":false}})"));
  EXPECT_EQ(json::parse(card_streaming_settings(true)),
            json::parse(R"({"config":{"streaming_mode":true}})"));
}

TEST(FeishuCardStreamTest, OperationUuidsAreStableShortAndDifferPerSequence) {
  const std::string long_key(300, 'k');
  const std::string a = card_op_uuid(long_key, 7);
  EXPECT_EQ(a, card_op_uuid(long_key, 7));
  EXPECT_NE(a, card_op_uuid(long_key, 8));
  EXPECT_NE(a, card_op_uuid("other", 7));
  EXPECT_LE(a.size(), 64u);
  EXPECT_LE(card_op_uuid(long_key, 2147483647).size(), 64u);
  EXPECT_TRUE(a.ends_with("-7"));
}

TEST(FeishuCardStreamTest, ProgressRoundTrips) {
  CardStreamProgress progress{"7355372766134157313", 200, "om_abc"};
  EXPECT_EQ(parse_card_progress(to_json(progress)), progress);
  CardStreamProgress created{"c1", 0, ""};
  EXPECT_EQ(parse_card_progress(to_json(created)), created);
}

TEST(FeishuCardStreamTest, AnythingButACardProgressIsNone) {
  EXPECT_EQ(parse_card_progress(""), std::nullopt);
  // send_stream_whole's progress: an attempt before fell back to a plain message.
  EXPECT_EQ(parse_card_progress(R"(["om_1"])"), std::nullopt);
  EXPECT_EQ(parse_card_progress("not json"), std::nullopt);
  EXPECT_EQ(parse_card_progress(R"({"sequence":3})"), std::nullopt);
  EXPECT_EQ(parse_card_progress(R"({"card_id":"c","sequence":-1})"), std::nullopt);
}

}  // namespace
}  // namespace botgate::feishu
