#include "botgate/core/event_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>

namespace botgate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::chrono::system_clock::time_point at(std::chrono::milliseconds since_epoch) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

// 2026-11-28T12:00:00Z
constexpr std::chrono::milliseconds kNoon{1'795'867'200'000};

std::vector<Segment> every_kind_of_segment() {
  return {Text{"hi "}, Mention{"ou_1", "Alice"}, Image{"img_v2_abc"}, Markdown{"**bold**"},
          Link{"docs", "https://example.com/a?b=c"}};
}

Event sample_event() {
  Event event;
  event.id = "0123456789abcdef0123456789abcdef";
  event.platform = "feishu";
  event.bot = "feishu-bot";
  event.platform_event_id = "ev_1";
  event.time = at(kNoon);
  event.chat = Chat{"oc_1", ChatType::group, std::nullopt};
  event.sender = User{"ou_2", "Bob", false};
  Message message;
  message.id = "om_1";
  message.text = "hi";
  message.mentions_bot = true;
  message.segments = every_kind_of_segment();
  event.message = message;
  return event;
}

TEST(EventJsonTest, EventRoundTripsWithEverySegmentKind) {
  const Event event = sample_event();
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, event);
}

TEST(EventJsonTest, EventRoundTripsGuildIdAndReplyContext) {
  Event event = sample_event();
  event.chat = Chat{"ch_1", ChatType::channel, std::string("guild_9")};
  event.reply_context = "group";
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, event);
  ASSERT_TRUE(back->chat.guild_id);
  EXPECT_EQ(*back->chat.guild_id, "guild_9");
}

TEST(EventJsonTest, TheEventJsonCarriesNoReplyCredential) {
  // The Event JSON leaves botgate (forward, message log, API): a WeCom webhook's key lets
  // anyone post into the group, a Discord interaction token answers for the bot.
  Event event = sample_event();
  event.reply_credential = "https://qyapi.example/cgi-bin/webhook/send?key=CREDENTIAL-KEY-7f3a";
  const std::string text = to_json(event);
  EXPECT_EQ(text.find("CREDENTIAL-KEY-7f3a"), std::string::npos) << text;
  auto back = event_from_json(text);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->reply_credential.empty());
  event.reply_credential.clear();
  EXPECT_EQ(*back, event) << "everything else is kept";
}

TEST(EventJsonTest, TheOutboxJsonCarriesNoReplyCredential) {
  OutgoingMessage message = OutgoingMessage::plain("hi");
  message.bot = "discord";
  message.chat_id = "c1";
  message.reply_credential = "interaction:123:INTERACTION-TOKEN-9c1e";
  const std::string text = to_json(message);
  EXPECT_EQ(text.find("INTERACTION-TOKEN-9c1e"), std::string::npos) << text;
  auto back = outgoing_from_json(text);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->reply_credential.empty());
}

TEST(EventJsonTest, EventRoundTripsWithoutMessage) {
  Event event = sample_event();
  event.message.reset();
  event.chat.type = ChatType::private_chat;
  event.time = at(kNoon + 123ms);
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, event);
  EXPECT_FALSE(back->message);
}

TEST(EventJsonTest, EventJsonHasTheShapeOfTheDesign) {
  const json::value value = json::parse(to_json(sample_event()));
  ASSERT_TRUE(value.is_object());
  const json::object& o = value.get_object();
  for (const char* key : {"id", "platform", "bot", "platform_event_id", "time"}) {
    ASSERT_TRUE(o.contains(key)) << key;
    EXPECT_TRUE(o.at(key).is_string()) << key;
  }
  EXPECT_EQ(o.at("platform"), "feishu");
  EXPECT_EQ(o.at("time"), "2026-11-28T12:00:00Z");

  const json::object& chat = o.at("chat").as_object();
  EXPECT_EQ(chat.at("id"), "oc_1");
  EXPECT_EQ(chat.at("type"), "group");
  ASSERT_TRUE(chat.contains("guild_id"));
  EXPECT_TRUE(chat.at("guild_id").is_null());

  const json::object& sender = o.at("sender").as_object();
  EXPECT_EQ(sender.at("id"), "ou_2");
  EXPECT_EQ(sender.at("name"), "Bob");
  EXPECT_EQ(sender.at("is_bot"), false);

  const json::object& message = o.at("message").as_object();
  EXPECT_EQ(message.at("id"), "om_1");
  EXPECT_EQ(message.at("text"), "hi");
  EXPECT_EQ(message.at("mentions_bot"), true);
  const json::array& segments = message.at("segments").as_array();
  ASSERT_EQ(segments.size(), 5u);
  EXPECT_EQ(segments[0], (json::value{{"type", "text"}, {"text", "hi "}}));
  EXPECT_EQ(segments[1].at("type"), "mention");
  EXPECT_EQ(segments[1].at("user_id"), "ou_1");
  EXPECT_EQ(segments[2].at("type"), "image");
  EXPECT_EQ(segments[3].at("type"), "markdown");
  EXPECT_EQ(segments[4].at("type"), "link");
  EXPECT_EQ(segments[4].at("url"), "https://example.com/a?b=c");

  // An empty reply context is not written.
  EXPECT_FALSE(o.contains("reply_context"));
}

TEST(EventJsonTest, GuildIdIsAStringWhenSet) {
  Event event = sample_event();
  event.chat.guild_id = "g1";
  const json::value value = json::parse(to_json(event));
  EXPECT_EQ(value.at("chat").at("guild_id"), "g1");
}

TEST(EventJsonTest, ChatTypeNames) {
  Event event = sample_event();
  for (ChatType type : {ChatType::private_chat, ChatType::group, ChatType::channel}) {
    event.chat.type = type;
    const json::value value = json::parse(to_json(event));
    EXPECT_EQ(value.at("chat").at("type"), to_string(type));
    EXPECT_EQ(chat_type_from_string(to_string(type)), type);
  }
  EXPECT_STREQ(to_string(ChatType::private_chat), "private");
  EXPECT_FALSE(chat_type_from_string("dm"));
}

TEST(EventJsonTest, MessageIsNullWhenAbsent) {
  Event event = sample_event();
  event.message.reset();
  const json::value value = json::parse(to_json(event));
  ASSERT_TRUE(value.as_object().contains("message"));
  EXPECT_TRUE(value.at("message").is_null());
}

TEST(EventJsonTest, OutgoingRoundTripsWithEverySegmentKind) {
  OutgoingMessage message;
  message.bot = "qq-bot";
  message.chat_id = "c1";
  message.chat_type = ChatType::channel;
  message.reply_to = "m1";
  message.reply_to_user = "u1";
  message.reply_context = "ctx";
  message.segments = every_kind_of_segment();
  message.idempotency_key = "0123456789abcdef01234567-0";
  auto back = outgoing_from_json(to_json(message));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, message);
}

TEST(EventJsonTest, OutgoingRoundTripsAProactiveMessage) {
  OutgoingMessage message = OutgoingMessage::markdown("# title");
  message.bot = "b";
  message.chat_id = "c";
  auto back = outgoing_from_json(to_json(message));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, message);
  EXPECT_TRUE(back->reply_to.empty());
}

TEST(EventJsonTest, StringsWithQuotesAndUnicodeSurvive) {
  Event event = sample_event();
  event.message->text = "say \"hi\"\n\\ 你好 🎉";
  event.sender.name = "名前";
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, event);
}

TEST(EventJsonTest, ControlCharactersAreEscapedAndSurvive) {
  Event event = sample_event();
  using namespace std::string_literals;
  event.message->text = "tab\tbell\x07 nul\0 form\f back\b cr\r end\x1f"s;
  event.reply_context = "ctx \"quoted\" \\ slash";
  event.chat.guild_id = "g\n1";
  const std::string text = to_json(event);
  for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character";
  EXPECT_NE(text.find("\\u0007"), std::string::npos);
  EXPECT_NE(text.find("\\u0000"), std::string::npos);
  auto back = event_from_json(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, event);
}

TEST(EventJsonTest, InvalidUtf8IsRepairedSoTheRowCanBeReadBack) {
  // A string that is not UTF-8 (raw bytes from XML) must not make the stored event unreadable:
  // each bad sequence is written as U+FFFD, in the members and in the segments.
  Event event = sample_event();
  event.message->text = "bad \xff end";
  event.message->segments = {Text{"bad \xff end"}, Mention{"u\xc3", "n\xe4\xbd"}};
  event.sender.name = "\x80name";
  OutgoingMessage reply = OutgoingMessage::plain("Hello, bad \xff end");
  for (const std::string& text : {to_json(event), to_json(reply)}) {
    EXPECT_TRUE(boost::json::parse(text).is_object()) << text;  // strict: rejects invalid UTF-8
  }
  auto back = event_from_json(to_json(event));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->message->text, "bad \uFFFD end");
  EXPECT_EQ(back->sender.name, "\uFFFDname");
  EXPECT_EQ(back->message->segments,
            (std::vector<Segment>{Text{"bad \uFFFD end"}, Mention{"u\uFFFD", "n\uFFFD"}}));
  auto reply_back = outgoing_from_json(to_json(reply));
  ASSERT_TRUE(reply_back) << reply_back.error().message();
  EXPECT_EQ(reply_back->segments, std::vector<Segment>{Text{"Hello, bad \uFFFD end"}});
}

TEST(EventJsonTest, MalformedJsonIsMalformedPayload) {
  for (const char* text : {"", "{", "not json", "[1,2]", "\"a string\"", "null", "{\"id\": }"}) {
    SCOPED_TRACE(text);
    auto event = event_from_json(text);
    ASSERT_FALSE(event);
    EXPECT_TRUE(event.error().is(errc::malformed_payload));
    auto message = outgoing_from_json(text);
    ASSERT_FALSE(message);
    EXPECT_TRUE(message.error().is(errc::malformed_payload));
  }
}

TEST(EventJsonTest, BadSegmentsAreMalformedPayload) {
  for (const char* segments :
       {R"("text")", R"([1])", R"([{"type":"video","url":"x"}])", R"([{"text":"no type"}])"}) {
    SCOPED_TRACE(segments);
    const std::string event = std::string(R"({"id":"1","message":{"id":"m","segments":)") +
                              segments + "}}";
    auto parsed = event_from_json(event);
    ASSERT_FALSE(parsed);
    EXPECT_TRUE(parsed.error().is(errc::malformed_payload));
    const std::string outgoing = std::string(R"({"bot":"b","segments":)") + segments + "}";
    auto message = outgoing_from_json(outgoing);
    ASSERT_FALSE(message);
    EXPECT_TRUE(message.error().is(errc::malformed_payload));
  }
}

TEST(EventJsonTest, FormatTimeWithAndWithoutMillis) {
  EXPECT_EQ(format_time(at(kNoon)), "2026-11-28T12:00:00Z");
  EXPECT_EQ(format_time(at(kNoon + 7ms)), "2026-11-28T12:00:00.007Z");
  EXPECT_EQ(format_time(at(0ms)), "1970-01-01T00:00:00Z");
  // A leap day and the last millisecond of a year.
  EXPECT_EQ(format_time(at(1'709'164'800'000ms)), "2024-02-29T00:00:00Z");
  EXPECT_EQ(format_time(at(1'735'689'599'999ms)), "2024-12-31T23:59:59.999Z");
  // Before the epoch.
  EXPECT_EQ(format_time(at(-1000ms)), "1969-12-31T23:59:59Z");
}

TEST(EventJsonTest, ParseTimeWithAndWithoutMillis) {
  EXPECT_EQ(parse_time("2026-11-28T12:00:00Z"), at(kNoon));
  EXPECT_EQ(parse_time("2026-11-28T12:00:00.250Z"), at(kNoon + 250ms));
  EXPECT_EQ(parse_time("1970-01-01T00:00:00Z"), at(0ms));
  EXPECT_EQ(parse_time("2024-02-29T00:00:00Z"), at(1'709'164'800'000ms));
  EXPECT_EQ(parse_time("1969-12-31T23:59:59Z"), at(-1000ms));
}

TEST(EventJsonTest, FormatAndParseAreInverse) {
  for (std::int64_t ms : {0LL, 1LL, 999LL, 86'399'999LL, 951'782'400'000LL, 4'102'444'800'000LL,
                          1'795'867'200'123LL}) {
    const auto time = at(std::chrono::milliseconds(ms));
    EXPECT_EQ(parse_time(format_time(time)), time) << ms;
  }
}

TEST(EventJsonTest, ParseTimeRejectsBadInput) {
  for (const char* text : {
           "",
           "2026-11-28",
           "2026-11-28T12:00:00",         // no zone
           "2026-11-28T12:00:00+08:00",   // offsets are not written by botgate
           "2026-11-28 12:00:00Z",        // space instead of T
           "2026/11/28T12:00:00Z",
           "2026-13-28T12:00:00Z",        // month 13
           "2026-00-28T12:00:00Z",
           "2026-11-00T12:00:00Z",
           "2026-11-32T12:00:00Z",
           "2026-11-28T24:00:00Z",
           "2026-11-28T12:60:00Z",
           "2026-11-28T12:00:61Z",
           "2026-11-28T12:00:00.5Z",      // millis must be three digits
           "2026-11-28T12:00:00.1234Z",
           "2026-11-28T12:00:00.abcZ",
           "2026-11-28T1a:00:00Z",
           "20261-1-28T12:00:00Z",
           "2026-11-28T12:00:00z",
       }) {
    EXPECT_FALSE(parse_time(text)) << text;
  }
}

// system_clock counts nanoseconds in 64 bits (1677..2262): a stored or sent time beyond that used
// to overflow while being converted (found by fuzz/event_json_fuzz.cpp).
TEST(EventJsonTest, ParseTimeRefusesTimesTheClockCannotHold) {
  EXPECT_FALSE(parse_time("2263-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_time("9999-12-31T23:59:59.999Z"));
  EXPECT_FALSE(parse_time("1677-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_time("2262-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_time("1678-01-01T00:00:00Z"));
  EXPECT_FALSE(to_system_time(std::chrono::seconds(9'300'000'000)));
  EXPECT_EQ(to_system_time(std::chrono::seconds(1)),
            std::chrono::system_clock::time_point(std::chrono::seconds(1)));
}

TEST(EventJsonTest, UnparsableTimeLeavesTheEpoch) {
  auto event = event_from_json(R"({"id":"1","time":"yesterday"})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->time, std::chrono::system_clock::time_point{});
}

}  // namespace
}  // namespace botgate
