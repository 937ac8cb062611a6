#include "botgate/handlers/rules.hpp"

#include "support/run_sync.hpp"
#include "support/segment_printers.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::handlers {
namespace {

using botgate::test::run_sync;

Event make_event(std::string text, std::string platform = "feishu", std::string bot = "ops") {
  Event event;
  event.id = "evt-1";
  event.platform = std::move(platform);
  event.bot = std::move(bot);
  event.platform_event_id = "pe-1";
  event.chat.id = "oc_chat";
  event.chat.type = ChatType::group;
  event.sender.id = "ou_alice";
  event.sender.name = "Alice";
  Message message;
  message.id = "om_1";
  message.text = std::move(text);
  event.message = std::move(message);
  return event;
}

Rule rule(std::string match, std::string reply, std::vector<std::string> platforms = {},
          std::vector<std::string> bots = {}) {
  Rule r;
  r.match = std::move(match);
  r.reply = std::move(reply);
  r.platforms = std::move(platforms);
  r.bots = std::move(bots);
  return r;
}

/// Runs the handler on `event`; the replies land in `ctx`.
HandlerResult run(RulesHandler& handler, const Event& event, HandlerContext& ctx) {
  return run_sync(handler.handle(event, ctx));
}

// --- render_reply --------------------------------------------------------------------------------

TEST(RenderReplyTest, EveryPlaceholder) {
  const Event event = make_event("hello there");
  EXPECT_EQ(render_reply("{text}|{user}|{user_id}|{chat_id}|{platform}|{bot}", event, {}),
            "hello there|Alice|ou_alice|oc_chat|feishu|ops");
}

TEST(RenderReplyTest, UserFallsBackToTheIdWithoutAName) {
  Event event = make_event("x");
  event.sender.name.clear();
  EXPECT_EQ(render_reply("hi {user}", event, {}), "hi ou_alice");
}

TEST(RenderReplyTest, TextIsEmptyWithoutAMessage) {
  Event event = make_event("x");
  event.message.reset();
  EXPECT_EQ(render_reply("[{text}]", event, {}), "[]");
}

TEST(RenderReplyTest, CapturesOneToNine) {
  const Event event = make_event("x");
  const std::vector<std::string> captures{"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  EXPECT_EQ(render_reply("{9}{8}{7}{6}{5}{4}{3}{2}{1}", event, captures), "ihgfedcba");
  EXPECT_EQ(render_reply("{1}-{1}", event, captures), "a-a");
}

TEST(RenderReplyTest, MissingCaptureIsEmpty) {
  const Event event = make_event("x");
  EXPECT_EQ(render_reply("[{1}][{2}][{3}]", event, {"one"}), "[one][][]");
  EXPECT_EQ(render_reply("[{9}]", event, {}), "[]");
}

TEST(RenderReplyTest, UnknownPlaceholdersAndLoneBracesAreKept) {
  const Event event = make_event("hi");
  EXPECT_EQ(render_reply("{unknown} {0} {10} {} {TEXT}", event, {"a"}),
            "{unknown} {0} {10} {} {TEXT}");
  EXPECT_EQ(render_reply("{ and } and {", event, {}), "{ and } and {");
  EXPECT_EQ(render_reply("}{text}{", event, {}), "}hi{");
  EXPECT_EQ(render_reply("{{text}}", event, {}), "{hi}");
  EXPECT_EQ(render_reply("{ {text}", event, {}), "{ hi");
  EXPECT_EQ(render_reply("", event, {}), "");
}

TEST(RenderReplyTest, ValuesAreNotExpandedAgain) {
  const Event event = make_event("{user}");
  EXPECT_EQ(render_reply("you said {text}", event, {"{bot}"}), "you said {user}");
  EXPECT_EQ(render_reply("{1}", event, {"{bot}"}), "{bot}");
}

// --- RulesHandler --------------------------------------------------------------------------------

TEST(RulesHandlerTest, MatchingRuleRepliesToTheEvent) {
  RulesHandler handler({rule("^ping$", "pong, {user}")});
  const Event event = make_event("ping");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  const OutgoingMessage& reply = ctx.replies()[0];
  EXPECT_EQ(reply.segments, (std::vector<Segment>{Text{"pong, Alice"}}));
  EXPECT_EQ(reply.bot, "ops");
  EXPECT_EQ(reply.chat_id, "oc_chat");
  EXPECT_EQ(reply.chat_type, ChatType::group);
  EXPECT_EQ(reply.reply_to, "om_1");
}

TEST(RulesHandlerTest, PatternIsSearchedNotAnchored) {
  RulesHandler handler({rule("ping", "pong")});
  const Event event = make_event("say ping please");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
}

TEST(RulesHandlerTest, CapturesFillTheTemplate) {
  RulesHandler handler({rule(R"(^weather in (\w+)(?: on (\w+))?$)", "{1}: sunny{2}")});
  const Event event = make_event("weather in Paris");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  // The optional group did not take part: {2} is empty.
  EXPECT_EQ(ctx.replies()[0].plain_text(), "Paris: sunny");
}

TEST(RulesHandlerTest, NinthCaptureOfManyGroups) {
  RulesHandler handler({rule("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "{9}{1}")});
  const Event event = make_event("abcdefghij");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "ia");
}

TEST(RulesHandlerTest, FirstMatchWins) {
  RulesHandler handler({rule("^help", "first"), rule("help", "second"), rule(".*", "third")});
  const Event event = make_event("help me");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "first");
}

TEST(RulesHandlerTest, LaterRuleAnswersWhenEarlierOnesDoNotMatch) {
  RulesHandler handler({rule("^help$", "first"), rule("me$", "second")});
  const Event event = make_event("help me");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "second");
}

TEST(RulesHandlerTest, PlatformFilter) {
  RulesHandler handler({rule("ping", "on lark", {"lark"}), rule("ping", "anywhere")});
  const Event feishu = make_event("ping", "feishu");
  HandlerContext feishu_ctx(feishu);
  EXPECT_EQ(run(handler, feishu, feishu_ctx), HandlerResult::done);
  ASSERT_EQ(feishu_ctx.replies().size(), 1u);
  EXPECT_EQ(feishu_ctx.replies()[0].plain_text(), "anywhere");

  const Event lark = make_event("ping", "lark");
  HandlerContext lark_ctx(lark);
  EXPECT_EQ(run(handler, lark, lark_ctx), HandlerResult::done);
  ASSERT_EQ(lark_ctx.replies().size(), 1u);
  EXPECT_EQ(lark_ctx.replies()[0].plain_text(), "on lark");
}

TEST(RulesHandlerTest, BotFilter) {
  RulesHandler handler({rule("ping", "{bot} only", {}, {"support", "sales"})});
  const Event ops = make_event("ping", "feishu", "ops");
  HandlerContext ops_ctx(ops);
  EXPECT_EQ(run(handler, ops, ops_ctx), HandlerResult::next);
  EXPECT_TRUE(ops_ctx.replies().empty());

  const Event sales = make_event("ping", "feishu", "sales");
  HandlerContext sales_ctx(sales);
  EXPECT_EQ(run(handler, sales, sales_ctx), HandlerResult::done);
  ASSERT_EQ(sales_ctx.replies().size(), 1u);
  EXPECT_EQ(sales_ctx.replies()[0].plain_text(), "sales only");
}

TEST(RulesHandlerTest, PlatformAndBotFiltersBothApply) {
  RulesHandler handler({rule("ping", "x", {"lark"}, {"ops"})});
  const Event event = make_event("ping", "feishu", "ops");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(RulesHandlerTest, NoMatchPassesTheEventOn) {
  RulesHandler handler({rule("^ping$", "pong")});
  const Event event = make_event("pong");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(RulesHandlerTest, RuleAnswersAGroupMessageWithoutAMention) {
  RulesHandler handler({rule(R"(^\$hello$)", "Hello!")});
  const Event event = make_event("$hello");  // group, mentions_bot false
  ASSERT_FALSE(event.message->mentions_bot);
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "Hello!");
}

Rule mention_rule(std::string match, std::string reply) {
  Rule r = rule(std::move(match), std::move(reply));
  r.mention = true;
  return r;
}

TEST(RulesHandlerTest, MentionRuleSkipsAGroupMessageWithoutAMention) {
  RulesHandler handler({mention_rule("^ping$", "pong")});
  for (const ChatType type : {ChatType::group, ChatType::channel}) {
    Event event = make_event("ping");
    event.chat.type = type;
    HandlerContext ctx(event);
    EXPECT_EQ(run(handler, event, ctx), HandlerResult::next) << to_string(type);
    EXPECT_TRUE(ctx.replies().empty()) << to_string(type);
  }
}

TEST(RulesHandlerTest, MentionRuleAnswersAMentionAndAPrivateChat) {
  RulesHandler handler({mention_rule("^ping$", "pong")});
  Event mentioned = make_event("ping");
  mentioned.message->mentions_bot = true;
  HandlerContext mentioned_ctx(mentioned);
  EXPECT_EQ(run(handler, mentioned, mentioned_ctx), HandlerResult::done);
  EXPECT_EQ(mentioned_ctx.replies().size(), 1u);

  Event direct = make_event("ping");
  direct.chat.type = ChatType::private_chat;
  HandlerContext direct_ctx(direct);
  EXPECT_EQ(run(handler, direct, direct_ctx), HandlerResult::done);
  EXPECT_EQ(direct_ctx.replies().size(), 1u);
}

TEST(RulesHandlerTest, SkippedMentionRuleLetsALaterRuleAnswer) {
  RulesHandler handler({mention_rule("^ping$", "addressed"), rule("^ping$", "anyone")});
  const Event event = make_event("ping");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "anyone");
}

TEST(RulesHandlerTest, NoRulesPassesTheEventOn) {
  RulesHandler handler({});
  const Event event = make_event("anything");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::next);
}

TEST(RulesHandlerTest, EventWithoutAMessagePassesOn) {
  RulesHandler handler({rule(".*", "always")});
  Event event = make_event("x");
  event.message.reset();
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(RulesHandlerTest, InvalidPatternThrowsNamingTheRule) {
  try {
    RulesHandler handler({rule("ok", "fine"), rule("(unclosed", "never")});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rule 2"), std::string::npos) << e.what();
  }
  // Backreferences are not RE2 syntax.
  EXPECT_THROW(RulesHandler({rule(R"((a)\1)", "x")}), std::invalid_argument);
}

TEST(RulesHandlerTest, RulePatternError) {
  EXPECT_EQ(rule_pattern_error("^ping (\\w+)$"), "");
  EXPECT_NE(rule_pattern_error("(unclosed"), "");
  EXPECT_NE(rule_pattern_error("[z-a]"), "");
}

TEST(RulesHandlerTest, PathologicalPatternRunsInLinearTime) {
  // Catastrophic for a backtracking engine; RE2 answers at once.
  RulesHandler handler({rule("(a+)+$", "never"), rule("(x+x+)+y", "never either")});
  const Event event = make_event(std::string(100000, 'a') + "b");
  HandlerContext ctx(event);
  const HandlerResult result = run(handler, event, ctx);
  // "(a+)+$" needs the a's at the very end; the text ends in "b".
  EXPECT_EQ(result, HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(RulesHandlerTest, MatchesUtf8Text) {
  RulesHandler handler({rule(R"(^天气\s*(\S+)$)", "{1}: 晴")});
  const Event event = make_event("天气 北京");
  HandlerContext ctx(event);
  EXPECT_EQ(run(handler, event, ctx), HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "北京: 晴");
}

}  // namespace
}  // namespace botgate::handlers
