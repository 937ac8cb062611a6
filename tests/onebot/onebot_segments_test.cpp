#include "botgate/onebot/onebot_segments.hpp"

#include "botgate/core/store.hpp"
#include "botgate/crypto/encoding.hpp"

#include "support/segment_printers.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

namespace json = boost::json;

ObSegment text(std::string t) { return ObSegment{"text", {{"text", std::move(t)}}}; }

TEST(CqCode, EscapesTheFourEntities) {
  EXPECT_EQ(cq_escape("a&b[c]d,e", false), "a&amp;b&#91;c&#93;d,e");
  EXPECT_EQ(cq_escape("a&b[c]d,e", true), "a&amp;b&#91;c&#93;d&#44;e");
  EXPECT_EQ(cq_unescape("a&amp;b&#91;c&#93;d&#44;e"), "a&b[c]d,e");
  EXPECT_EQ(cq_unescape("&amp;#91;"), "&#91;") << "one pass: an escaped entity stays an entity";
  EXPECT_EQ(cq_unescape("&lt; & &#"), "&lt; & &#") << "unknown entities stay as written";
}

TEST(CqCode, ParsesCodesAndTheTextBetween) {
  auto segments = parse_cq("hi [CQ:at,qq=10001] look [CQ:image,file=https://x/a.png?a=1&amp;b=2]!");
  ASSERT_EQ(segments.size(), 5u);
  EXPECT_EQ(segments[0], text("hi "));
  EXPECT_EQ(segments[1], (ObSegment{"at", {{"qq", "10001"}}}));
  EXPECT_EQ(segments[2], text(" look "));
  EXPECT_EQ(segments[3], (ObSegment{"image", {{"file", "https://x/a.png?a=1&b=2"}}}));
  EXPECT_EQ(segments[4], text("!"));
}

TEST(CqCode, UnescapesParamsAndText) {
  auto segments = parse_cq("&#91;not a code&#93; [CQ:text,text=a&#44;b&#91;c&#93;]");
  ASSERT_EQ(segments.size(), 1u) << "adjacent text joins";
  EXPECT_EQ(segments[0].get("text"), "[not a code] a,b[c]");
}

TEST(CqCode, MalformedCodesAreText) {
  for (const char* raw : {"[CQ:", "[CQ:at", "[CQ:]", "[CQ:at,qq]", "[CQ:a t,qq=1]",
                          "[CQ:at,=1]", "[CQ:at,qq=1,]", "[CQ:[CQ:at,qq=1]"}) {
    auto segments = parse_cq(raw);
    ASSERT_FALSE(segments.empty()) << raw;
    EXPECT_EQ(segments[0].type, "text") << raw;
  }
  auto nested = parse_cq("[CQ:[CQ:at,qq=1]");
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested[0], text("[CQ:"));
  EXPECT_EQ(nested[1], (ObSegment{"at", {{"qq", "1"}}}));
  EXPECT_TRUE(parse_cq("").empty());
}

TEST(CqCode, RoundTrips) {
  std::vector<ObSegment> segments{text("a[b]&c,d"), ObSegment{"at", {{"qq", "all"}}},
                                  ObSegment{"image", {{"file", "https://x/y,z.png"}}},
                                  text(" end")};
  const auto raw = to_cq(segments);
  EXPECT_EQ(raw, "a&#91;b&#93;&amp;c,d[CQ:at,qq=all][CQ:image,file=https://x/y&#44;z.png] end");
  EXPECT_EQ(parse_cq(raw), segments);
}

TEST(SegmentsJson, ReadsStringsArraysAndOneObject) {
  auto from_string = segments_from_json(json::value("x[CQ:face,id=14]"));
  ASSERT_TRUE(from_string);
  EXPECT_EQ(from_string->size(), 2u);

  auto from_array = segments_from_json(json::parse(
      R"([{"type":"text","data":{"text":"hi"}},{"type":"at","data":{"qq":10001}},{"type":"x"}])"));
  ASSERT_TRUE(from_array);
  ASSERT_EQ(from_array->size(), 3u);
  EXPECT_EQ((*from_array)[1].get("qq"), "10001") << "numbers read as their text";
  EXPECT_TRUE((*from_array)[2].data.empty());

  auto one = segments_from_json(json::parse(R"({"type":"text","data":{"text":"hi"}})"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);

  for (const char* bad : {R"(12)", R"(null)", R"([1])", R"([{"data":{}}])",
                          R"([{"type":"text","data":[1]}])", R"([{"type":""}])"}) {
    EXPECT_FALSE(segments_from_json(json::parse(bad))) << bad;
  }
}

TEST(SegmentsJson, WritesTheArrayForm) {
  EXPECT_EQ(json::serialize(to_json({text("a"), ObSegment{"at", {{"qq", "5"}}}})),
            R"([{"type":"text","data":{"text":"a"}},{"type":"at","data":{"qq":"5"}}])");
}

TEST(ParseId, TakesNumbersAndNumericStrings) {
  EXPECT_EQ(parse_id(json::value(42)), 42);
  EXPECT_EQ(parse_id(json::value(std::uint64_t{42})), 42);
  EXPECT_EQ(parse_id(json::value("42")), 42);
  EXPECT_EQ(parse_id(json::value("9007199254740991")), kMaxMappedId);
  for (const auto& bad : {json::value(0), json::value(-1), json::value("9007199254740992"),
                          json::value(""), json::value("+4"), json::value("-4"), json::value("4a"),
                          json::value(" 4"), json::value(4.0), json::value(nullptr),
                          json::value(std::uint64_t{1} << 63)}) {
    EXPECT_FALSE(parse_id(bad)) << json::serialize(bad);
  }
}

TEST(FromOneBot, MapsWhatBotgateHas) {
  auto in = from_onebot(parse_cq(
      "[CQ:reply,id=7]hi [CQ:at,qq=12] [CQ:at,qq=all][CQ:face,id=14][CQ:image,file=https://x/a.png]"
      "[CQ:image,file=base64://AAAA][CQ:record,file=x.amr][CQ:at,qq=zero]"));
  ASSERT_EQ(in.reply_to, 7);
  ASSERT_EQ(in.segments.size(), 6u);
  EXPECT_EQ(in.segments[0], Segment(Text{"hi "}));
  EXPECT_EQ(in.segments[1], Segment(Mention{"12", ""}));
  EXPECT_EQ(in.segments[2], Segment(Text{" "}));
  EXPECT_EQ(in.segments[3], Segment(Mention{"all", ""}));
  EXPECT_EQ(in.segments[4], Segment(Text{"[face:14]"}));
  EXPECT_EQ(in.segments[5], Segment(Image{"https://x/a.png"}));
  EXPECT_EQ(in.dropped, (std::vector<std::string>{"image", "record", "at"}));
}

TEST(FromOneBot, ImageUrlWinsOverAFileName) {
  auto in = from_onebot({ObSegment{"image", {{"file", "abc.image"}, {"url", "https://x/b.png"}}}});
  ASSERT_EQ(in.segments.size(), 1u);
  EXPECT_EQ(in.segments[0], Segment(Image{"https://x/b.png"}));
}

TEST(FromOneBot, Base64ImagesBecomeDataUrls) {
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "pixels";
  const std::string encoded = crypto::base64_encode(png);
  auto in = from_onebot(parse_cq("[CQ:image,file=base64://" + encoded +
                                 "][CQ:image,file=base64://" + crypto::base64_encode("text") +
                                 "][CQ:image,file=file:///tmp/a.png]"));
  ASSERT_EQ(in.segments.size(), 1u);
  EXPECT_EQ(in.segments[0], Segment(Image{"data:image/png;base64," + encoded}));
  // Not an image, and a file of the framework's machine: dropped, and said so.
  EXPECT_EQ(in.dropped, (std::vector<std::string>{"image", "image"}));
}

TEST(FromOneBot, OnlyTheFirstReplyCounts) {
  auto in = from_onebot(parse_cq("[CQ:reply,id=1][CQ:reply,id=2][CQ:reply,id=x]ok"));
  EXPECT_EQ(in.reply_to, 1);
  EXPECT_EQ(in.dropped, (std::vector<std::string>{"reply", "reply"}));
}

}  // namespace
}  // namespace botgate::onebot
