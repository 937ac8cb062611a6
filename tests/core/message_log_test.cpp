#include "botgate/core/message_log.hpp"

#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace botgate {
namespace {

using namespace std::chrono_literals;

Event make_event(std::string id, std::string bot, std::string chat, std::string text,
                 std::string user = "Alice") {
  Event event;
  event.id = std::move(id);
  event.bot = std::move(bot);
  event.platform = "discord";
  event.chat.id = std::move(chat);
  event.sender.id = "u-1";
  event.sender.name = std::move(user);
  Message message;
  message.text = std::move(text);
  event.message = message;
  return event;
}

OutgoingMessage make_reply(std::string key, std::string chat, std::string text) {
  OutgoingMessage reply = OutgoingMessage::plain(std::move(text));
  reply.bot = "sandbox";
  reply.chat_id = std::move(chat);
  reply.idempotency_key = std::move(key);
  return reply;
}

TEST(MessageLog, EventsAndRepliesInOrderWithTheirOutcome) {
  MessageLog log;
  log.add_event(make_event("e1", "sandbox", "tab-1", "hi"));
  log.add_reply(make_reply("e1-0", "tab-1", "Hello, hi"), "discord", "e1");
  auto entries = log.query({});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, "in:e1");
  EXPECT_TRUE(entries[0].incoming);
  EXPECT_EQ(entries[0].user, "Alice");
  EXPECT_EQ(entries[0].outcome, LogOutcome::received);
  EXPECT_EQ(entries[1].id, "out:e1-0");
  EXPECT_FALSE(entries[1].incoming);
  EXPECT_EQ(entries[1].reply_to, "in:e1");
  EXPECT_EQ(entries[1].platform, "discord");
  EXPECT_EQ(entries[1].outcome, LogOutcome::queued);
  EXPECT_LT(entries[0].seq, entries[1].seq);
}

TEST(MessageLog, ADeliveryUpdatesTheEntryUnderANewSeq) {
  MessageLog log;
  log.add_reply(make_reply("k1", "c", "one"), "qq", "e1");
  log.add_reply(make_reply("k2", "c", "two"), "qq", "e2");
  const auto before = log.seq();
  log.delivery(make_reply("k1", "c", "one"), "qq", LogOutcome::retrying, "429 slow down", 1);
  auto changed = log.query({.after = before});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].id, "out:k1");
  EXPECT_EQ(changed[0].outcome, LogOutcome::retrying);
  EXPECT_EQ(changed[0].error, "429 slow down");
  EXPECT_EQ(changed[0].attempts, 1);
  EXPECT_EQ(log.query({}).size(), 2u) << "updated in place, not added";
  log.delivery(make_reply("k1", "c", "one"), "qq", LogOutcome::failed, "refused", 2);
  auto all = log.query({});
  EXPECT_EQ(all.back().id, "out:k1") << "the latest change sorts last";
  EXPECT_EQ(all.back().outcome, LogOutcome::failed);
}

TEST(MessageLog, ADeliveryOfAMessageQueuedBeforeARestartIsAdded) {
  MessageLog log;
  log.delivery(make_reply("old", "c", "from before"), "feishu", LogOutcome::sent, "", 1);
  auto entries = log.query({});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].text, "from before");
  EXPECT_EQ(entries[0].platform, "feishu");
  EXPECT_EQ(entries[0].outcome, LogOutcome::sent);
}

TEST(MessageLog, FiltersByBotChatAndTextIgnoringCase) {
  MessageLog log;
  log.add_event(make_event("e1", "sandbox", "tab-1", "Order pizza"));
  log.add_event(make_event("e2", "sandbox", "tab-2", "order tea"));
  log.add_event(make_event("e3", "feishu", "oc_1", "ORDER coffee", "Bob"));
  log.add_event(make_event("e4", "feishu", "oc_1", "hello", "Orderly Carol"));
  EXPECT_EQ(log.query({.bot = "feishu"}).size(), 2u);
  EXPECT_EQ(log.query({.chat = "tab-2"}).size(), 1u);
  auto found = log.query({.text = "order"});
  ASSERT_EQ(found.size(), 4u) << "text or user, any case";
  auto narrowed = log.query({.bot = "feishu", .text = "coffee"});
  ASSERT_EQ(narrowed.size(), 1u);
  EXPECT_EQ(narrowed[0].id, "in:e3");
  EXPECT_TRUE(log.query({.text = "nothing like it"}).empty());
}

TEST(MessageLog, KeepsTheNewestWithinItsCapacityAndTheLimit) {
  MessageLog log(3);
  for (int i = 0; i < 5; ++i) {
    log.add_event(make_event("e" + std::to_string(i), "b", "c", "m" + std::to_string(i)));
  }
  auto entries = log.query({});
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries.front().id, "in:e2");
  EXPECT_EQ(entries.back().id, "in:e4");
  auto limited = log.query({.limit = 2});
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited.front().id, "in:e3");
  // An evicted entry's delivery comes back as a new entry rather than corrupting another.
  log.delivery(make_reply("e0-0", "c", "late"), "x", LogOutcome::sent, "", 1);
  EXPECT_EQ(log.query({}).back().id, "out:e0-0");
  EXPECT_EQ(log.query({}).size(), 3u);
}

TEST(MessageLog, ImagesShowTheirUrl) {
  OutgoingMessage message = OutgoingMessage::plain("look");
  message.segments.emplace_back(Image{"https://example.com/a.png"});
  EXPECT_EQ(log_text(message), "look [image] https://example.com/a.png");
}

TEST(MessageLog, AWaiterWakesOnAChangeFromAnotherThread) {
  MessageLog log;
  asio::io_context io;
  bool woke = false;
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await log.wait_for_change(log.seq(), 10s);
    woke = true;
  }, asio::detached);
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    log.add_event(make_event("e1", "b", "c", "wake up"));
  });
  test::run_until(io, [&] { return woke; }, 5s);
  writer.join();
  EXPECT_TRUE(woke);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(MessageLog, AWaitReturnsAtOnceWhenSomethingIsNewerOrTheLogIsClosed) {
  MessageLog log;
  asio::io_context io;
  log.add_event(make_event("e1", "b", "c", "x"));
  const auto started = std::chrono::steady_clock::now();
  bool done = false;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    co_await log.wait_for_change(0, 10s);
    done = true;
  }());
  EXPECT_TRUE(done);
  log.close();
  done = false;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    co_await log.wait_for_change(log.seq(), 10s);
    done = true;
  }());
  EXPECT_TRUE(done);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "neither wait may run its 10 s";
}

TEST(MessageLog, AWaitEndsAfterItsTimeout) {
  MessageLog log;
  asio::io_context io;
  const auto started = std::chrono::steady_clock::now();
  test::run_on(io, log.wait_for_change(0, 30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 30ms);
}

TEST(MessageLog, EachChangeIsPublishedAsItNowStandsButNotWhatOthersShared) {
  MessageLog log;
  std::vector<LogEntry> published;
  log.set_publisher([&](const LogEntry& entry) { published.push_back(entry); });
  log.add_event(make_event("e1", "sandbox", "tab-1", "hi"));
  log.add_reply(make_reply("k1", "tab-1", "one"), "discord", "e1");
  log.update_text("out:k1", "one two");
  log.delivery(make_reply("k1", "tab-1", "one two"), "discord", LogOutcome::sent, "", 1);
  log.delivery(make_reply("k2", "tab-1", "proactive"), "discord", LogOutcome::failed, "gone", 3);
  ASSERT_EQ(published.size(), 5u);
  EXPECT_EQ(published[0].id, "in:e1");
  EXPECT_EQ(published[1].id, "out:k1");
  EXPECT_EQ(published[1].outcome, LogOutcome::queued);
  EXPECT_EQ(published[2].text, "one two");
  EXPECT_EQ(published[3].outcome, LogOutcome::sent);
  EXPECT_EQ(published[3].text, "one two") << "a change carries the whole entry";
  EXPECT_EQ(published[3].attempts, 1);
  EXPECT_EQ(published[4].id, "out:k2");
  EXPECT_EQ(published[4].error, "gone");
  for (std::size_t i = 1; i < published.size(); ++i) {
    EXPECT_GT(published[i].seq, published[i - 1].seq);
  }

  // Another instance's entry: shown, replacing the one with its id, never published back.
  LogEntry shared = published[3];
  shared.text = "edited elsewhere";
  log.add_shared(shared);
  LogEntry theirs;
  theirs.id = "in:e9";
  theirs.bot = "sandbox";
  theirs.text = "from another instance";
  log.add_shared(theirs);
  EXPECT_EQ(published.size(), 5u);
  auto entries = log.query({});
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[2].id, "out:k1");
  EXPECT_EQ(entries[2].text, "edited elsewhere");
  EXPECT_EQ(entries[3].id, "in:e9");
  EXPECT_GT(entries[3].seq, entries[2].seq) << "shared entries get this log's own seqs";
  log.update_text("in:e9", "changed here");
  ASSERT_EQ(published.size(), 6u) << "a change made here is published, whoever added it";
  EXPECT_EQ(published.back().text, "changed here");
}

TEST(MessageLog, AReplyQueuedOnOneInstanceAndSentByAnotherShowsItsDeliveryInEitherOrder) {
  // Here first the sending instance's entry (it knew no event), then the queuing one's own.
  MessageLog here;
  std::vector<LogEntry> published;
  here.set_publisher([&](const LogEntry& entry) { published.push_back(entry); });
  LogEntry sent = MessageLog::outgoing(make_reply("k1", "c", "one"), "qq", "", LogOutcome::sent);
  sent.attempts = 1;
  here.add_shared(sent);
  here.add_reply(make_reply("k1", "c", "one"), "qq", "e1");
  auto entries = here.query({});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].outcome, LogOutcome::sent);
  EXPECT_EQ(entries[0].attempts, 1);
  EXPECT_EQ(entries[0].reply_to, "in:e1") << "what the queuing instance knew is kept";
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].outcome, LogOutcome::sent) << "and the others learn it as it stands";

  // There the other way round: its own delivery, then the queued entry shared late.
  MessageLog there;
  there.delivery(make_reply("k1", "c", "one"), "qq", LogOutcome::retrying, "429", 1);
  there.add_shared(MessageLog::outgoing(make_reply("k1", "c", "one"), "qq", "e1"));
  entries = there.query({});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].outcome, LogOutcome::retrying);
  EXPECT_EQ(entries[0].error, "429");
  EXPECT_EQ(entries[0].reply_to, "in:e1");

  // A queued entry over a queued one is a plain replacement.
  there.add_reply(make_reply("k2", "c", "two"), "qq", "e2");
  there.add_shared(MessageLog::outgoing(make_reply("k2", "c", "two, edited"), "qq", "e2"));
  EXPECT_EQ(there.query({}).back().text, "two, edited");
  EXPECT_EQ(there.query({}).back().outcome, LogOutcome::queued);
}

TEST(MessageLog, TheFirstReadRunsTheHookOnceAndWritesDoNot) {
  MessageLog log;
  int reads = 0;
  log.set_first_read_hook([&] { ++reads; });
  log.add_event(make_event("e1", "sandbox", "tab-1", "hi"));
  log.delivery(make_reply("k1", "tab-1", "one"), "discord", LogOutcome::sent, "", 1);
  log.add_shared(LogEntry{});
  EXPECT_EQ(reads, 0) << "writing is not reading";
  log.query({});
  EXPECT_EQ(reads, 1);
  log.query({});
  boost::asio::io_context io;
  boost::asio::co_spawn(io, log.wait_for_change(0, 1ms), boost::asio::detached);
  io.run();
  EXPECT_EQ(reads, 1) << "once";

  MessageLog waited;
  int waits = 0;
  waited.set_first_read_hook([&] { ++waits; });
  boost::asio::co_spawn(io, waited.wait_for_change(0, 1ms), boost::asio::detached);
  io.restart();
  io.run();
  EXPECT_EQ(waits, 1) << "a long poll is a read too";
}

}  // namespace
}  // namespace botgate
