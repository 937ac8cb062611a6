#include "botgate/onebot/onebot_actions.hpp"

#include "botgate/core/handler_chain.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/onebot/onebot_event.hpp"
#include "support/memory_store.hpp"
#include "support/recording_sender.hpp"
#include "support/run_until.hpp"
#include "support/segment_printers.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST(ParseAction, ReadsActionParamsAndEcho) {
  auto request = parse_action(R"({"action":"send_msg","params":{"a":1},"echo":{"n":7}})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->action, "send_msg");
  EXPECT_EQ(request->params.at("a"), 1);
  EXPECT_EQ(*request->echo, json::parse(R"({"n":7})"));
  auto bare = parse_action(R"({"action":"get_status"})");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->echo);
  for (const char* bad : {"", "x", "[]", R"({"action":1})", R"({"action":""})",
                          R"({"action":"a","params":[1]})", R"({"post_type":"meta_event"})"}) {
    EXPECT_FALSE(parse_action(bad)) << bad;
  }
}

TEST(ParseAction, AnswersCarryTheEchoOnlyWhenAsked) {
  auto request = *parse_action(R"({"action":"x","echo":12})");
  EXPECT_EQ(json::value(action_ok(json::object{{"k", 1}}, request)),
            json::parse(R"({"status":"ok","retcode":0,"data":{"k":1},"echo":12})"));
  auto failed = action_failed(1404, "nope", *parse_action(R"({"action":"x"})"));
  EXPECT_EQ(json::value(failed), json::parse(R"({"status":"failed","retcode":1404,"data":null,
                                                 "msg":"nope","wording":"nope"})"));
}

Event make_event(std::string id, ChatType type, std::string chat, std::string user,
                 std::string message_id) {
  Event event;
  event.id = std::move(id);
  event.platform = "qq";
  event.bot = "qb";
  event.chat = {std::move(chat), type, std::nullopt};
  event.sender = {std::move(user), "Ann", false};
  event.reply_context = "ctx-" + event.id;
  Message m;
  m.id = std::move(message_id);
  m.text = "hi";
  m.segments = {Text{"hi"}};
  event.message = std::move(m);
  return event;
}

TEST(RecentEventsTest, KeepsTheLatestPerChatWithinTheWindow) {
  RecentEvents recent;
  const auto t0 = RecentEvents::Clock::time_point(100h);
  recent.note(make_event("e1", ChatType::group, "g1", "u1", "m1"), t0);
  recent.note(make_event("e2", ChatType::group, "g1", "u2", "m2"), t0 + 1s);
  recent.note(make_event("e3", ChatType::private_chat, "g1", "u1", "m3"), t0 + 2s);
  const auto lane = chat_lane(ChatType::group, "g1");
  ASSERT_NE(recent.latest_in(lane, t0 + 3s), nullptr);
  EXPECT_EQ(recent.latest_in(lane, t0 + 3s)->id, "e2");
  EXPECT_EQ(recent.latest_in(chat_lane(ChatType::private_chat, "g1"), t0 + 3s)->id, "e3");
  ASSERT_NE(recent.find("e1", t0 + 3s), nullptr);
  EXPECT_EQ(recent.find("e1", t0 + RecentEvents::kWindow + 1s), nullptr);
  EXPECT_EQ(recent.latest_in(lane, t0 + RecentEvents::kWindow + 2s), nullptr);
  EXPECT_EQ(recent.latest_in(chat_lane(ChatType::group, "g2"), t0), nullptr);
  // A note past the window drops what is older.
  recent.note(make_event("e4", ChatType::group, "g9", "u1", "m4"), t0 + 1h);
  EXPECT_EQ(recent.find("e1", t0 + 1s), nullptr);
}

/// Actions over a real Runtime with one bot, "qb", whose sender records (not started: the
/// outbox is read from the store).
class ActionsTest : public ::testing::Test {
 protected:
  ActionsTest() {
    runtime_ = std::make_unique<Runtime>(io_, store_, chain_);
    BotParts parts;
    auto sender = std::make_unique<test::RecordingSender>();
    sender_ = sender.get();
    parts.sender = std::move(sender);
    runtime_->add_bot("qb", "qq", runtime_->make_bot_strand(), std::move(parts));
    actions_ = std::make_unique<Actions>(*runtime_, store_, BotIdentity{"qb", "qq", 10001, "9.9"},
                                         recent_);
  }

  json::object call(const std::string& frame) {
    auto request = parse_action(frame);
    EXPECT_TRUE(request) << frame;
    return test::run_on(io_, actions_->run(*request));
  }
  /// Maps `event`'s ids as the handler does and returns them.
  IdNumbers map(const Event& event) {
    auto keys = event_id_keys(event);
    auto numbers = test::run_on(io_, store_.id_numbers(event.bot, keys)).value();
    return numbers_of(keys, numbers);
  }
  std::int64_t user(const IdNumbers& ids, const std::string& id) {
    return ids.at({IdKind::user, id});
  }

  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  std::unique_ptr<Runtime> runtime_;
  test::RecordingSender* sender_ = nullptr;
  RecentEvents recent_;
  std::unique_ptr<Actions> actions_;
};

TEST_F(ActionsTest, SendGroupMsgQueuesTheMessageAndAnswersItsId) {
  const Event event = make_event("e1", ChatType::group, "g1", "u1", "m1");
  auto ids = map(event);
  const auto group = ids.at({IdKind::group, "g1"});
  const auto answer = call(R"({"action":"send_group_msg","params":{"group_id":")" +
                           std::to_string(group) + R"(","message":"hey [CQ:at,qq=)" +
                           std::to_string(user(ids, "u1")) + R"(] &#91;1&#93;"},"echo":"e-1"})");
  EXPECT_EQ(answer.at("status"), "ok") << json::serialize(answer);
  EXPECT_EQ(answer.at("retcode"), 0);
  EXPECT_EQ(answer.at("echo"), "e-1");
  ASSERT_TRUE(answer.at("data").as_object().at("message_id").is_int64());
  const auto outbox = store_.outbox();
  ASSERT_EQ(outbox.size(), 1u);
  const OutgoingMessage& sent = outbox[0].message;
  EXPECT_EQ(sent.bot, "qb");
  EXPECT_EQ(sent.chat_id, "g1");
  EXPECT_EQ(sent.chat_type, ChatType::group);
  EXPECT_EQ(sent.reply_to, "") << "no event of the chat was handed to the framework";
  EXPECT_EQ(sent.segments, (std::vector<Segment>{Text{"hey "}, Mention{"u1", ""}, Text{" [1]"}}));

  // Segments in the array form, with a numeric id, to the same chat.
  const auto again = call(R"({"action":"send_msg","params":{"message_type":"group","group_id":)" +
                          std::to_string(group) +
                          R"(,"message":[{"type":"text","data":{"text":"two"}}]}})");
  EXPECT_EQ(again.at("retcode"), 0) << json::serialize(again);
  EXPECT_NE(again.at("data").at("message_id"), answer.at("data").at("message_id"));
  ASSERT_EQ(store_.outbox().size(), 2u);
  EXPECT_EQ(store_.outbox()[1].message.plain_text(), "two");
}

TEST_F(ActionsTest, UnknownAndMalformedIdsAreRefusedClearly) {
  const auto unknown = call(R"({"action":"send_group_msg","params":{"group_id":424242,"message":"x"}})");
  EXPECT_EQ(unknown.at("status"), "failed");
  EXPECT_EQ(unknown.at("retcode"), kRetcodeUnknownId);
  EXPECT_NE(std::string(unknown.at("wording").as_string()).find("group_id 424242"),
            std::string::npos);
  const auto bad = call(R"({"action":"send_group_msg","params":{"group_id":"12x","message":"x"}})");
  EXPECT_EQ(bad.at("retcode"), kRetcodeBadRequest);
  const auto no_message = call(R"({"action":"send_private_msg","params":{"user_id":1}})");
  EXPECT_EQ(no_message.at("retcode"), kRetcodeBadRequest);
  // A user's number is not a group's.
  auto ids = map(make_event("e1", ChatType::group, "g1", "u1", "m1"));
  const auto as_group = call(R"({"action":"send_group_msg","params":{"group_id":)" +
                             std::to_string(user(ids, "u1")) + R"(,"message":"x"}})");
  EXPECT_EQ(as_group.at("retcode"), kRetcodeUnknownId);
  EXPECT_TRUE(store_.outbox().empty());
}

TEST_F(ActionsTest, APrivateSendGoesToTheUsersPrivateChat) {
  auto ids = map(make_event("e1", ChatType::group, "g1", "u1", "m1"));
  const std::string params = R"({"action":"send_private_msg","params":{"user_id":)" +
                             std::to_string(user(ids, "u1")) + R"(,"message":"psst"}})";
  EXPECT_EQ(call(params).at("retcode"), kRetcodeUnknownId)
      << "seen in a group only: no private chat to send to";
  map(make_event("e2", ChatType::private_chat, "dm-u1", "u1", "m2"));
  EXPECT_EQ(call(params).at("retcode"), 0);
  ASSERT_EQ(store_.outbox().size(), 1u);
  EXPECT_EQ(store_.outbox()[0].message.chat_id, "dm-u1");
  EXPECT_EQ(store_.outbox()[0].message.chat_type, ChatType::private_chat);
}

TEST_F(ActionsTest, ASendToARecentEventsChatRepliesToIt) {
  const Event first = make_event("e1", ChatType::group, "g1", "u1", "m1");
  const Event second = make_event("e2", ChatType::group, "g1", "u2", "m2");
  auto ids = map(first);
  map(second);
  recent_.note(first, RecentEvents::Clock::now());
  recent_.note(second, RecentEvents::Clock::now());
  const auto group = std::to_string(ids.at({IdKind::group, "g1"}));
  ASSERT_EQ(call(R"({"action":"send_group_msg","params":{"group_id":)" + group +
                 R"(,"message":"latest"}})")
                .at("retcode"),
            0);
  // A reply segment names the earlier one.
  const auto m1 = std::to_string(ids.at({IdKind::message, "m1"}));
  ASSERT_EQ(call(R"({"action":"send_group_msg","params":{"group_id":)" + group +
                 R"(,"message":"[CQ:reply,id=)" + m1 + R"(]to the first"}})")
                .at("retcode"),
            0);
  const auto outbox = store_.outbox();
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].message.reply_to, "m2");
  EXPECT_EQ(outbox[0].message.reply_context, "ctx-e2") << "the platform's reply context";
  EXPECT_EQ(outbox[1].message.reply_to, "m1");
  EXPECT_EQ(outbox[1].message.reply_context, "ctx-e1");
  EXPECT_EQ(outbox[1].message.plain_text(), "to the first");
}

TEST_F(ActionsTest, InfoActionsAndTheRest) {
  EXPECT_EQ(json::value(call(R"({"action":"get_login_info","echo":1})")),
            json::parse(R"({"status":"ok","retcode":0,"data":{"user_id":10001,"nickname":"qb"},
                            "echo":1})"));
  EXPECT_EQ(call(R"({"action":"get_status"})").at("data").at("online"), true);
  EXPECT_EQ(call(R"({"action":"get_version_info"})").at("data").at("protocol_version"), "v11");
  const auto other = call(R"({"action":"get_group_list","echo":"x"})");
  EXPECT_EQ(other.at("status"), "failed");
  EXPECT_EQ(other.at("retcode"), kRetcodeUnsupported);
  EXPECT_EQ(other.at("echo"), "x");
}

TEST_F(ActionsTest, DeleteMsgQueuesARecallOfASentOrAReceivedMessage) {
  const Event event = make_event("e1", ChatType::group, "g1", "u1", "m1");
  auto ids = map(event);
  recent_.note(event, RecentEvents::Clock::now());
  const auto sent = call(R"({"action":"send_group_msg","params":{"group_id":)" +
                         std::to_string(ids.at({IdKind::group, "g1"})) + R"(,"message":"hey"}})");
  ASSERT_EQ(sent.at("retcode"), 0) << json::serialize(sent);
  const auto sent_id = sent.at("data").at("message_id").as_int64();

  auto refused = call(R"({"action":"delete_msg","params":{"message_id":)" +
                      std::to_string(sent_id) + "}}");
  EXPECT_EQ(refused.at("retcode"), kRetcodeUnsupported)
      << "this bot's sender cannot take messages back";
  EXPECT_EQ(store_.outbox().size(), 1u) << "nothing queued";

  sender_->allow_recalls();
  auto of_sent = call(R"({"action":"delete_msg","params":{"message_id":")" +
                      std::to_string(sent_id) + R"("},"echo":3})");
  EXPECT_EQ(of_sent.at("status"), "ok") << json::serialize(of_sent);
  EXPECT_EQ(of_sent.at("echo"), 3);
  auto of_received = call(R"({"action":"delete_msg","params":{"message_id":)" +
                          std::to_string(ids.at({IdKind::message, "m1"})) + "}}");
  EXPECT_EQ(of_received.at("status"), "ok") << json::serialize(of_received);
  const auto outbox = store_.outbox();
  ASSERT_EQ(outbox.size(), 3u);
  ASSERT_TRUE(outbox[1].message.recall);
  EXPECT_EQ(outbox[1].message.recall->message, outbox[0].id) << "the sent message's outbox id";
  EXPECT_EQ(outbox[1].message.lane(), outbox[0].message.lane()) << "in its chat, behind it";
  ASSERT_TRUE(outbox[2].message.recall);
  EXPECT_EQ(outbox[2].message.recall->platform_message_id, "m1");
  EXPECT_EQ(outbox[2].message.chat_id, "g1");
  EXPECT_EQ(outbox[2].message.reply_context, "ctx-e1") << "the chat's kind, for the platform";

  EXPECT_EQ(call(R"({"action":"delete_msg","params":{"message_id":987654}})").at("retcode"),
            kRetcodeUnknownId);
  EXPECT_EQ(call(R"({"action":"delete_msg","params":{"message_id":"x"}})").at("retcode"),
            kRetcodeBadRequest);
}

TEST_F(ActionsTest, GetMsgAnswersARecentEvent) {
  const Event event = make_event("e1", ChatType::group, "g1", "u1", "m1");
  auto ids = map(event);
  recent_.note(event, RecentEvents::Clock::now());
  const auto m1 = ids.at({IdKind::message, "m1"});
  const auto answer = call(R"({"action":"get_msg","params":{"message_id":")" +
                           std::to_string(m1) + R"("}})");
  ASSERT_EQ(answer.at("retcode"), 0) << json::serialize(answer);
  const auto& data = answer.at("data").as_object();
  EXPECT_EQ(data.at("message_id"), m1);
  EXPECT_EQ(data.at("raw_message"), "hi");
  EXPECT_EQ(data.at("group_id"), ids.at({IdKind::group, "g1"}));
  EXPECT_EQ(call(R"({"action":"get_msg","params":{"message_id":999999}})").at("retcode"),
            kRetcodeUnknownId);
}

}  // namespace
}  // namespace botgate::onebot
