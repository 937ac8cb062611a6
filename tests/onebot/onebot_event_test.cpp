#include "botgate/onebot/onebot_event.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

Event group_event() {
  Event event;
  event.id = "evt1";
  event.platform = "feishu";
  event.bot = "fs";
  event.time = std::chrono::system_clock::time_point(1'700'000'000s + 500ms);
  event.chat = {"oc_g", ChatType::group, std::nullopt};
  event.sender = {"ou_ann", "Ann", false};
  Message m;
  m.id = "om_1";
  m.text = "hi @Bob [x]";
  m.mentions_bot = true;
  m.segments = {Mention{"ou_bot", "bot"}, Text{" hi "}, Mention{"ou_bob", "Bob"}, Text{" [x]"},
                Image{"https://x/a.png"}};
  event.message = std::move(m);
  return event;
}

IdNumbers numbers_for(const Event& event) {
  auto keys = event_id_keys(event);
  std::vector<std::int64_t> numbers;
  for (std::size_t i = 0; i < keys.size(); ++i) numbers.push_back(100 + static_cast<int>(i));
  return numbers_of(keys, numbers);
}

TEST(OneBotEvent, KeysNameSenderGroupMessageAndMentions) {
  auto keys = event_id_keys(group_event());
  ASSERT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys[0].kind, IdKind::user);
  EXPECT_EQ(keys[0].platform_id, "ou_ann");
  EXPECT_EQ(keys[0].context, "") << "a group chat is not the user's private chat";
  EXPECT_EQ(keys[1].kind, IdKind::group);
  EXPECT_EQ(keys[1].platform_id, "oc_g");
  EXPECT_EQ(keys[1].context, "group");
  EXPECT_EQ(keys[2].kind, IdKind::message);
  EXPECT_EQ(keys[2].platform_id, "om_1");
  EXPECT_EQ(keys[2].context, "evt1");
  EXPECT_EQ(keys[3].platform_id, "ou_bot");
  EXPECT_EQ(keys[4].platform_id, "ou_bob");
}

TEST(OneBotEvent, AGroupMessage) {
  const auto event = group_event();
  const auto ids = numbers_for(event);
  auto ob = message_event(event, 10001, ids);
  ASSERT_TRUE(ob);
  auto expected = json::parse(R"({
    "time": 1700000000, "self_id": 10001, "post_type": "message", "message_type": "group",
    "sub_type": "normal", "message_id": 102, "user_id": 100, "group_id": 101, "font": 0,
    "message": [
      {"type": "at", "data": {"qq": "10001"}},
      {"type": "text", "data": {"text": " hi "}},
      {"type": "at", "data": {"qq": "104"}},
      {"type": "text", "data": {"text": " [x]"}},
      {"type": "image", "data": {"file": "https://x/a.png", "url": "https://x/a.png"}}],
    "raw_message": "[CQ:at,qq=10001] hi [CQ:at,qq=104] &#91;x&#93;[CQ:image,file=https://x/a.png,url=https://x/a.png]",
    "sender": {"user_id": 100, "nickname": "Ann", "card": "", "role": "member"}
  })");
  EXPECT_EQ(json::value(*ob), expected) << json::serialize(*ob);
}

TEST(OneBotEvent, APrivateMessageKeepsTheChatWithTheUser) {
  Event event = group_event();
  event.chat = {"oc_p2p", ChatType::private_chat, std::nullopt};
  event.message->segments = {Text{"hello"}};
  const auto keys = event_id_keys(event);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].context, "oc_p2p");
  auto ob = message_event(event, 7, numbers_for(event));
  ASSERT_TRUE(ob);
  EXPECT_EQ(ob->at("message_type"), "private");
  EXPECT_EQ(ob->at("sub_type"), "friend");
  EXPECT_EQ(ob->at("user_id"), 100);
  EXPECT_EQ(ob->at("message_id"), 101);
  EXPECT_FALSE(ob->contains("group_id"));
  EXPECT_EQ(ob->at("raw_message"), "hello") << "no at of the bot in a private chat";
}

TEST(OneBotEvent, AMentionOfTheBotWithoutItsSegmentIsAddedInFront) {
  Message m;
  m.id = "1";
  m.text = "ping";
  m.mentions_bot = true;
  auto segments = to_onebot(m, true, 5, {});
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(to_cq(segments), "[CQ:at,qq=5]ping") << "the text stands in for missing segments";
  m.mentions_bot = false;
  EXPECT_EQ(to_cq(to_onebot(m, true, 5, {})), "ping");
}

TEST(OneBotEvent, MarkdownLinksAndEveryone) {
  Message m;
  m.segments = {Markdown{"**b**"}, Link{"docs", "https://d"}, Link{"", "https://e"},
                Mention{"all", ""}};
  EXPECT_EQ(to_cq(to_onebot(m, true, 5, {})), "**b**docs https://dhttps://e[CQ:at,qq=all]");
}

TEST(OneBotEvent, NoMessageNoEvent) {
  Event event = group_event();
  event.message.reset();
  EXPECT_TRUE(event_id_keys(event).empty());
  EXPECT_FALSE(message_event(event, 1, {}));
}

TEST(OneBotEvent, MetaEvents) {
  const auto now = std::chrono::system_clock::time_point(1'700'000'000s);
  EXPECT_EQ(json::value(lifecycle_connect(9, now)),
            json::parse(R"({"time":1700000000,"self_id":9,"post_type":"meta_event",
                            "meta_event_type":"lifecycle","sub_type":"connect"})"));
  EXPECT_EQ(json::value(heartbeat_event(9, now, true, 5000ms)),
            json::parse(R"({"time":1700000000,"self_id":9,"post_type":"meta_event",
                            "meta_event_type":"heartbeat","status":{"online":true,"good":true},
                            "interval":5000})"));
}

}  // namespace
}  // namespace botgate::onebot
