#include "botgate/core/handler_chain.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate {
namespace {

using test::run_sync;

/// Records its name in `log`, optionally replies, and answers `result`.
class ScriptedHandler final : public Handler {
 public:
  ScriptedHandler(std::string name, std::vector<std::string>& log, HandlerResult result,
                  std::string reply = {})
      : name_(std::move(name)), log_(log), result_(result), reply_(std::move(reply)) {}

  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext& ctx) override {
    log_.push_back(name_);
    if (!reply_.empty()) {
      ctx.reply(OutgoingMessage::plain(reply_));
    }
    co_return result_;
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  HandlerResult result_;
  std::string reply_;
};

/// Immediate for the bots listed, not for others.
class ImmediateFor final : public Handler {
 public:
  explicit ImmediateFor(std::vector<std::string> bots) : bots_(std::move(bots)) {}
  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext&) override {
    co_return HandlerResult::next;
  }
  bool immediate_for(const std::string& bot) const override {
    return std::find(bots_.begin(), bots_.end(), bot) != bots_.end();
  }

 private:
  std::vector<std::string> bots_;
};

class ThrowingHandler final : public Handler {
 public:
  explicit ThrowingHandler(std::vector<std::string>& log) : log_(log) {}
  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext& ctx) override {
    log_.push_back("throws");
    ctx.reply(OutgoingMessage::plain("before the throw"));
    throw std::runtime_error("handler bug");
    co_return HandlerResult::done;
  }

 private:
  std::vector<std::string>& log_;
};

Event group_message() {
  Event event;
  event.id = "e1";
  event.platform = "qq";
  event.bot = "qq-bot";
  event.platform_event_id = "pe1";
  event.chat = Chat{"g1", ChatType::group, std::string("guild")};
  event.sender = User{"u1", "Ann", false};
  event.message = Message{"m1", "hello", true, {Text{"hello"}}};
  event.reply_context = "ctx";
  return event;
}

TEST(HandlerChainTest, EmptyChainGivesNoReplies) {
  HandlerChain chain;
  EXPECT_EQ(chain.size(), 0u);
  const Event event = group_message();
  EXPECT_TRUE(run_sync(chain.run(event)).replies.empty());
}

TEST(HandlerChainTest, RunsHandlersInOrderUntilOneIsDone) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::next));
  chain.add(std::make_unique<ScriptedHandler>("b", log, HandlerResult::next));
  chain.add(std::make_unique<ScriptedHandler>("c", log, HandlerResult::done, "from c"));
  chain.add(std::make_unique<ScriptedHandler>("d", log, HandlerResult::done, "from d"));
  EXPECT_EQ(chain.size(), 4u);
  const Event event = group_message();
  auto replies = run_sync(chain.run(event)).replies;
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].plain_text(), "from c");
}

TEST(HandlerChainTest, FirstDoneWinsButEarlierRepliesStay) {
  std::vector<std::string> log;
  HandlerChain chain;
  // A handler may reply and still pass the event on; its reply is kept.
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::next, "from a"));
  chain.add(std::make_unique<ScriptedHandler>("b", log, HandlerResult::done, "from b"));
  chain.add(std::make_unique<ScriptedHandler>("c", log, HandlerResult::done, "from c"));
  const Event event = group_message();
  auto replies = run_sync(chain.run(event)).replies;
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].plain_text(), "from a");
  EXPECT_EQ(replies[1].plain_text(), "from b");
}

TEST(HandlerChainTest, AllNextRunsEveryHandler) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::next));
  chain.add(std::make_unique<ScriptedHandler>("b", log, HandlerResult::next));
  const Event event = group_message();
  EXPECT_TRUE(run_sync(chain.run(event)).replies.empty());
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
}

TEST(HandlerChainTest, RepliesAreAddressedInReplyToTheEvent) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::done, "pong"));
  const Event event = group_message();
  auto replies = run_sync(chain.run(event)).replies;
  ASSERT_EQ(replies.size(), 1u);
  const OutgoingMessage& reply = replies[0];
  EXPECT_EQ(reply.bot, "qq-bot");
  EXPECT_EQ(reply.chat_id, "g1");
  EXPECT_EQ(reply.chat_type, ChatType::group);
  EXPECT_EQ(reply.reply_to, "m1");
  EXPECT_EQ(reply.reply_to_user, "u1");
  EXPECT_EQ(reply.reply_context, "ctx");
  EXPECT_EQ(reply.segments, (std::vector<Segment>{Text{"pong"}}));
}

TEST(HandlerChainTest, ReplyToANonMessageEventHasNoReplyTo) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::done, "welcome"));
  Event event = group_message();
  event.message.reset();
  auto replies = run_sync(chain.run(event)).replies;
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].chat_id, "g1");
  EXPECT_TRUE(replies[0].reply_to.empty());
}

TEST(HandlerChainTest, AThrowingHandlerIsTreatedAsNext) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ThrowingHandler>(log));
  chain.add(std::make_unique<ScriptedHandler>("b", log, HandlerResult::done, "from b"));
  const Event event = group_message();
  auto replies = run_sync(chain.run(event)).replies;
  EXPECT_EQ(log, (std::vector<std::string>{"throws", "b"}));
  // What it queued before throwing is part of the context; the chain went on to b.
  ASSERT_FALSE(replies.empty());
  EXPECT_EQ(replies.back().plain_text(), "from b");
}

TEST(HandlerChainTest, RunIsRepeatable) {
  std::vector<std::string> log;
  HandlerChain chain;
  chain.add(std::make_unique<ScriptedHandler>("a", log, HandlerResult::done, "x"));
  const Event event = group_message();
  EXPECT_EQ(run_sync(chain.run(event)).replies.size(), 1u);
  EXPECT_EQ(run_sync(chain.run(event)).replies.size(), 1u);
  EXPECT_EQ(log.size(), 2u);
}

/// Fails with `result` (retry or give_up) and says why; records what the context told it.
class FailingHandler final : public Handler {
 public:
  FailingHandler(HandlerResult result, int& seen_attempt) : result_(result), seen_(seen_attempt) {}
  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext& ctx) override {
    seen_ = ctx.attempt();
    ctx.reply(OutgoingMessage::plain("half an answer"));
    ctx.fail("the service is down", std::chrono::milliseconds(1500));
    co_return result_;
  }

 private:
  HandlerResult result_;
  int& seen_;
};

TEST(HandlerChainTest, ARetryStopsTheChainAndDropsTheRepliesOfTheAttempt) {
  std::vector<std::string> log;
  int attempt = 0;
  HandlerChain chain;
  chain.add(std::make_unique<FailingHandler>(HandlerResult::retry, attempt));
  chain.add(std::make_unique<ScriptedHandler>("fallback", log, HandlerResult::done, "echo"));
  const Event event = group_message();
  const ChainOutcome outcome = run_sync(chain.run(event, 3));
  EXPECT_EQ(attempt, 3);
  EXPECT_EQ(outcome.result, HandlerResult::retry);
  EXPECT_EQ(outcome.failure, "the service is down");
  EXPECT_EQ(outcome.retry_after, std::chrono::milliseconds(1500));
  EXPECT_TRUE(outcome.replies.empty());
  EXPECT_TRUE(log.empty()) << "a handler after the one that asked for a retry ran";
}

TEST(HandlerChainTest, AGiveUpStopsTheChainWithItsReason) {
  std::vector<std::string> log;
  int attempt = 0;
  HandlerChain chain;
  chain.add(std::make_unique<FailingHandler>(HandlerResult::give_up, attempt));
  chain.add(std::make_unique<ScriptedHandler>("fallback", log, HandlerResult::done, "echo"));
  const Event event = group_message();
  const ChainOutcome outcome = run_sync(chain.run(event));
  EXPECT_EQ(attempt, 1);
  EXPECT_EQ(outcome.result, HandlerResult::give_up);
  EXPECT_EQ(outcome.failure, "the service is down");
  EXPECT_TRUE(outcome.replies.empty());
  EXPECT_TRUE(log.empty());
}

TEST(HandlerChainTest, IsImmediateForABotOnlyWhenEveryHandlerIsImmediateForIt) {
  HandlerChain empty;
  EXPECT_TRUE(empty.immediate_for("a")) << "nothing to wait for";
  HandlerChain chain;
  chain.add(std::make_unique<ImmediateFor>(std::vector<std::string>{"a", "b"}));
  chain.add(std::make_unique<ImmediateFor>(std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(chain.immediate_for("a"));
  EXPECT_TRUE(chain.immediate_for("b"));
  EXPECT_FALSE(chain.immediate_for("c"));
  std::vector<std::string> log;
  HandlerChain with_default;
  with_default.add(std::make_unique<ScriptedHandler>("s", log, HandlerResult::done));
  EXPECT_FALSE(with_default.immediate_for("a")) << "a handler is not immediate unless it says so";
}

}  // namespace
}  // namespace botgate
