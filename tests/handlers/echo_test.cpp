#include "botgate/handlers/echo.hpp"

#include "support/run_sync.hpp"
#include "support/segment_printers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::handlers {
namespace {

using botgate::test::run_sync;

Event make_event(std::string text) {
  Event event;
  event.platform = "feishu";
  event.bot = "ops";
  event.chat.id = "oc_chat";
  event.chat.type = ChatType::private_chat;
  event.sender.id = "ou_alice";
  event.reply_context = "ctx";
  Message message;
  message.id = "om_1";
  message.text = std::move(text);
  event.message = std::move(message);
  return event;
}

TEST(EchoHandlerTest, RepliesWithPrefixAndText) {
  EchoHandler handler("echo: ");
  const Event event = make_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  const OutgoingMessage& reply = ctx.replies()[0];
  EXPECT_EQ(reply.segments, (std::vector<Segment>{Text{"echo: hello"}}));
  EXPECT_EQ(reply.bot, "ops");
  EXPECT_EQ(reply.chat_id, "oc_chat");
  EXPECT_EQ(reply.reply_to, "om_1");
  EXPECT_EQ(reply.reply_context, "ctx");
}

TEST(EchoHandlerTest, EmptyPrefixEchoesTheTextAsIs) {
  EchoHandler handler("");
  const Event event = make_event("{text} stays literal");
  HandlerContext ctx(event);
  EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "{text} stays literal");
}

TEST(EchoHandlerTest, EmptyTextPassesOn) {
  EchoHandler handler("echo: ");
  Event event = make_event("");
  event.message->segments.emplace_back(Image{"feishu:img_v2_0001"});
  HandlerContext ctx(event);
  EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(EchoHandlerTest, GroupOrChannelMessageWithoutAMentionPassesOn) {
  EchoHandler handler("echo: ");
  for (const ChatType type : {ChatType::group, ChatType::channel}) {
    Event event = make_event("chatter between users");
    event.chat.type = type;
    HandlerContext ctx(event);
    EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::next) << to_string(type);
    EXPECT_TRUE(ctx.replies().empty()) << to_string(type);
  }
}

TEST(EchoHandlerTest, GroupOrChannelMessageAddressedToTheBotIsEchoed) {
  EchoHandler handler("echo: ");
  for (const ChatType type : {ChatType::group, ChatType::channel}) {
    Event event = make_event("hi bot");
    event.chat.type = type;
    event.message->mentions_bot = true;  // a mention, or a platform that sends only those
    HandlerContext ctx(event);
    EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::done) << to_string(type);
    ASSERT_EQ(ctx.replies().size(), 1u) << to_string(type);
    EXPECT_EQ(ctx.replies()[0].plain_text(), "echo: hi bot");
  }
}

TEST(EchoHandlerTest, PrivateChatIsEchoedWithoutAMention) {
  EchoHandler handler("echo: ");
  const Event event = make_event("just us");  // private_chat, mentions_bot false
  ASSERT_FALSE(event.message->mentions_bot);
  HandlerContext ctx(event);
  EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
}

TEST(EchoHandlerTest, EventWithoutAMessagePassesOn) {
  EchoHandler handler("echo: ");
  Event event = make_event("x");
  event.message.reset();
  HandlerContext ctx(event);
  EXPECT_EQ(run_sync(handler.handle(event, ctx)), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

}  // namespace
}  // namespace botgate::handlers
