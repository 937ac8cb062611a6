#include "botgate/platforms/qq/qq_events.hpp"

#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kBotId = "6158788878435714165";
const std::string kBotName = "qq-bot";

json::object frame(std::string_view name) {
  const std::string path = botgate::test::testdata_path("qq/" + std::string(name));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing test data " + path);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return json::parse(out.str()).as_object();
}

/// The Event of testdata file `name`, parsed as the gateway and the webhook do.
std::optional<Event> event_of(std::string_view name, const std::string& bot_id = kBotId) {
  const json::object f = frame(name);
  return qq_event_from_dispatch(f.at("t").as_string(), f.at("d").as_object(),
                                f.at("id").as_string(), kBotName, bot_id);
}

std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  return sys_days(year_month_day{year{y}, month{mo}, day{d}}) + hours(h) + minutes(mi) +
         seconds(s);
}

TEST(QqEventsTest, ChatKindNamesRoundTrip) {
  for (QqChatKind kind : {QqChatKind::channel, QqChatKind::dms, QqChatKind::group,
                          QqChatKind::c2c}) {
    EXPECT_EQ(qq_chat_kind_from_string(to_string(kind)), kind) << to_string(kind);
  }
  EXPECT_EQ(std::string(to_string(QqChatKind::dms)), "dms");
  EXPECT_EQ(qq_chat_kind_from_string("private"), std::nullopt);
}

TEST(QqEventsTest, C2cMessageIsAPrivateChatWithTheUser) {
  const auto event = event_of("c2c_message_create.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->platform, "qq");
  EXPECT_EQ(event->bot, kBotName);
  EXPECT_EQ(event->platform_event_id, "C2C_MESSAGE_CREATE:lzgrqcjfhxk1ncxrfq5ilxqfgsxbfzgl");
  EXPECT_EQ(event->chat.type, ChatType::private_chat);
  EXPECT_EQ(event->chat.id, "E4F4AEA33253A2797FB897C50B81D7ED");
  EXPECT_EQ(event->chat.guild_id, std::nullopt);
  EXPECT_EQ(event->sender.id, "E4F4AEA33253A2797FB897C50B81D7ED");
  EXPECT_FALSE(event->sender.is_bot);
  EXPECT_EQ(event->reply_context, "c2c");
  // 2023-11-06T13:37:18+08:00
  EXPECT_EQ(event->time, utc(2023, 11, 6, 5, 37, 18));
  ASSERT_TRUE(event->message);
  EXPECT_EQ(event->message->id, "ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!");
  EXPECT_EQ(event->message->text, "123");
  EXPECT_TRUE(event->message->mentions_bot);
  EXPECT_EQ(event->message->segments, (std::vector<Segment>{Text{"123"}}));
}

TEST(QqEventsTest, C2cMessageOfTheSdkVector) {
  const auto event = event_of("c2c_message_create_v3.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.id, "675860273");
  EXPECT_EQ(event->message->text, "哦一下");
  EXPECT_EQ(event->time, utc(2024, 10, 15, 8, 33, 15));
}

TEST(QqEventsTest, C2cFallsBackToAuthorId) {
  const auto d = json::parse(R"({"id":"m1","content":"hi","author":{"id":"OPENID"}})");
  const auto event = qq_event_from_dispatch("C2C_MESSAGE_CREATE", d.as_object(), "", kBotName, "");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.id, "OPENID");
  EXPECT_EQ(event->sender.id, "OPENID");
  // No event id: the message id is the dedup key.
  EXPECT_EQ(event->platform_event_id, "m1");
  // No timestamp: the epoch, which the runtime replaces.
  EXPECT_EQ(event->time, std::chrono::system_clock::time_point{});
}

TEST(QqEventsTest, GroupAtMessageIsAGroupChatWithTheLeadingSpaceGone) {
  const auto event = event_of("group_at_message_create.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.type, ChatType::group);
  EXPECT_EQ(event->chat.id, "A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2");
  EXPECT_EQ(event->sender.id, "8A1B2C3D4E5F60718293A4B5C6D7E8F9");
  EXPECT_EQ(event->reply_context, "group");
  EXPECT_EQ(event->platform_event_id, "GROUP_AT_MESSAGE_CREATE:9f3ba1d2c4e5");
  ASSERT_TRUE(event->message);
  EXPECT_EQ(event->message->id, "ROBOT1.0_group.msg.0001!");
  EXPECT_EQ(event->message->text, "123");
  EXPECT_TRUE(event->message->mentions_bot);
  // The image attachment becomes an Image segment; the file does not.
  EXPECT_EQ(event->message->segments,
            (std::vector<Segment>{
                Text{"123"},
                Image{"https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=abc"}}));
}

TEST(QqEventsTest, GroupIdIsTheFallbackAndNbspIsTrimmed) {
  const auto d = json::parse(
      "{\"id\":\"m2\",\"group_id\":\"G1\",\"content\":\"\xC2\xA0 <@!BOT> /help \xC2\xA0\","
      "\"author\":{\"member_openid\":\"M1\"}}");
  const auto event =
      qq_event_from_dispatch("GROUP_AT_MESSAGE_CREATE", d.as_object(), "ev", kBotName, "BOT");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.id, "G1");
  EXPECT_EQ(event->sender.id, "M1");
  EXPECT_EQ(event->message->text, "/help");
  EXPECT_EQ(event->message->segments, (std::vector<Segment>{Mention{"BOT", ""}, Text{"/help"}}));
}

TEST(QqEventsTest, AtMessageIsAChannelWithTheBotMentionStripped) {
  const auto event = event_of("at_message_create.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.type, ChatType::channel);
  EXPECT_EQ(event->chat.id, "100010");
  EXPECT_EQ(event->chat.guild_id, "18700000000001");
  EXPECT_EQ(event->sender.id, "1234");
  EXPECT_EQ(event->sender.name, "abc");
  EXPECT_FALSE(event->sender.is_bot);
  EXPECT_EQ(event->reply_context, "channel");
  EXPECT_EQ(event->platform_event_id, "AT_MESSAGE_CREATE:e4c5f3b0-6f1c-4a7e-9f2e-1b2a3c4d5e6f");
  EXPECT_EQ(event->time, utc(2021, 5, 20, 7, 14, 58));
  ASSERT_TRUE(event->message);
  EXPECT_EQ(event->message->id, "0812345677890abcdef");
  EXPECT_EQ(event->message->text, "hello");
  EXPECT_TRUE(event->message->mentions_bot);
  EXPECT_EQ(event->message->segments,
            (std::vector<Segment>{Mention{kBotId, "bot"}, Text{"hello"}}));
}

TEST(QqEventsTest, AtMessageStripsTheLeadingMentionWhileTheBotIdIsUnknown) {
  const auto event = event_of("at_message_create.json", "");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->message->text, "hello");
  EXPECT_TRUE(event->message->mentions_bot);
}

TEST(QqEventsTest, MessageCreateIsUnescapedAndNotForTheBot) {
  const auto event = event_of("message_create.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.type, ChatType::channel);
  EXPECT_EQ(event->chat.id, "100010");
  EXPECT_EQ(event->reply_context, "channel");
  ASSERT_TRUE(event->message);
  EXPECT_EQ(event->message->id, "0812345677890abcdf0");
  EXPECT_EQ(event->message->text, "a <b> & @carol c");
  EXPECT_FALSE(event->message->mentions_bot);
  EXPECT_EQ(event->message->segments,
            (std::vector<Segment>{Text{"a <b> & "}, Mention{"4321", "carol"}, Text{" c"},
                                  Image{"https://gchat.qpic.cn/qmeetpic/0/0-0-ABC/0"}}));
}

TEST(QqEventsTest, AnEscapedMentionIsTextNotAMention) {
  // A user who types "<@!6158788878435714165>" literally gets it delivered escaped (notes 5.3).
  const auto d = json::parse(
      R"({"id":"m7","channel_id":"C","guild_id":"G","content":"say &lt;@!6158788878435714165&gt;",
          "author":{"id":"1"}})");
  const auto event = qq_event_from_dispatch("MESSAGE_CREATE", d.as_object(), "", kBotName, kBotId);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->message->text, "say <@!6158788878435714165>");
  EXPECT_FALSE(event->message->mentions_bot);
  EXPECT_EQ(event->message->segments,
            (std::vector<Segment>{Text{"say <@!6158788878435714165>"}}));
}

TEST(QqEventsTest, MessageCreateMentioningTheBotIsForTheBot) {
  const auto d = json::parse(
      R"({"id":"m3","channel_id":"C","guild_id":"G","content":"hey <@6158788878435714165>",
          "author":{"id":"1","username":"u"}})");
  const auto event =
      qq_event_from_dispatch("MESSAGE_CREATE", d.as_object(), "", kBotName, kBotId);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->message->text, "hey");
  EXPECT_TRUE(event->message->mentions_bot);
}

TEST(QqEventsTest, DirectMessageIsPrivateInTheDmGuild) {
  const auto event = event_of("direct_message_create.json");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->chat.type, ChatType::private_chat);
  // /dms/{guild_id}/messages answers it: the DM's own guild, not the channel or src_guild_id.
  EXPECT_EQ(event->chat.id, "9876543210123");
  EXPECT_EQ(event->sender.id, "1234");
  EXPECT_EQ(event->reply_context, "dms");
  EXPECT_EQ(event->time, utc(2021, 5, 20, 15, 16, 0));
  ASSERT_TRUE(event->message);
  EXPECT_EQ(event->message->id, "08aabbccddeeff0011");
  EXPECT_EQ(event->message->text, "hi there");
  EXPECT_TRUE(event->message->mentions_bot);
}

TEST(QqEventsTest, TheBotsOwnAndOtherBotsMessagesAreMarked) {
  const auto own = json::parse(
      R"({"id":"m4","channel_id":"C","content":"x","author":{"id":"6158788878435714165"}})");
  auto event = qq_event_from_dispatch("MESSAGE_CREATE", own.as_object(), "", kBotName, kBotId);
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->sender.is_bot);
  const auto other =
      json::parse(R"({"id":"m5","channel_id":"C","content":"x","author":{"id":"9","bot":true}})");
  event = qq_event_from_dispatch("MESSAGE_CREATE", other.as_object(), "", kBotName, kBotId);
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->sender.is_bot);
}

TEST(QqEventsTest, NegativeOffsetsAndFractionsAreParsed) {
  const auto d = json::parse(
      R"({"id":"m6","content":"x","timestamp":"2024-01-01T00:00:00.250-02:30",
          "author":{"user_openid":"U"}})");
  const auto event = qq_event_from_dispatch("C2C_MESSAGE_CREATE", d.as_object(), "", kBotName, "");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->time, utc(2024, 1, 1, 2, 30, 0) + 250ms);
}

TEST(QqEventsTest, BadTimestampsReadAsZero) {
  for (const char* ts : {"2024-13-01T00:00:00Z", "yesterday", "2024-01-01T00:00:00+0800"}) {
    json::object d = json::parse(R"({"id":"m","content":"x","author":{"user_openid":"U"}})")
                         .as_object();
    d["timestamp"] = ts;
    const auto event = qq_event_from_dispatch("C2C_MESSAGE_CREATE", d, "", kBotName, "");
    ASSERT_TRUE(event) << ts;
    EXPECT_EQ(event->time, std::chrono::system_clock::time_point{}) << ts;
  }
}

TEST(QqEventsTest, OtherTypesAndMalformedDataAreNotEvents) {
  const auto ok = frame("c2c_message_create.json").at("d").as_object();
  EXPECT_FALSE(qq_event_from_dispatch("GROUP_ADD_ROBOT", ok, "", kBotName, kBotId));
  EXPECT_FALSE(qq_event_from_dispatch("READY", ok, "", kBotName, kBotId));
  json::object no_id = ok;
  no_id.erase("id");
  EXPECT_FALSE(qq_event_from_dispatch("C2C_MESSAGE_CREATE", no_id, "", kBotName, kBotId));
  json::object no_author = ok;
  no_author.erase("author");
  EXPECT_FALSE(qq_event_from_dispatch("C2C_MESSAGE_CREATE", no_author, "", kBotName, kBotId));
  // A channel message without a channel, a group message without a group.
  EXPECT_FALSE(qq_event_from_dispatch("AT_MESSAGE_CREATE", ok, "", kBotName, kBotId));
  EXPECT_FALSE(qq_event_from_dispatch("GROUP_AT_MESSAGE_CREATE", ok, "", kBotName, kBotId));
  EXPECT_FALSE(qq_event_from_dispatch("DIRECT_MESSAGE_CREATE", ok, "", kBotName, kBotId));
}

}  // namespace
}  // namespace botgate::qq
