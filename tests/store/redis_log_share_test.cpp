#ifdef BOTGATE_WITH_REDIS
// The consoles' message log shared by the instances on one Redis (Store::share_log, watch_log):
// each hears the others' entries in order, never its own, a new one starts with the recent
// entries, and the Stream stays capped.
#include "botgate/store/redis_store.hpp"

#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

RedisUrl url_of(const test::RedisServer& server) {
  return parse_redis_url(server.url()).value();
}

RedisStoreOptions named(const std::string& instance, std::size_t length = 2000) {
  RedisStoreOptions options;
  options.instance = instance;
  options.message_log_length = length;
  return options;
}

LogEntry entry(const std::string& id, const std::string& text,
               LogOutcome outcome = LogOutcome::received) {
  LogEntry e;
  e.id = id;
  e.time = std::chrono::system_clock::now();
  e.bot = "support";
  e.platform = "feishu";
  e.chat_id = "oc_1";
  e.incoming = id.starts_with("in:");
  e.text = text;
  e.outcome = outcome;
  return e;
}

/// What a listener heard, safely from the store's thread.
class Heard {
 public:
  LogListener listener() {
    return [this](LogEntry e) {
      std::lock_guard lock(mutex_);
      entries_.push_back(std::move(e));
    };
  }
  std::vector<LogEntry> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  /// Waits until `done` holds for what was heard (at most 5 s).
  template <class Done>
  bool wait(Done done) {
    const auto deadline = Steady::now() + 5s;
    while (Steady::now() < deadline) {
      if (done(entries())) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<LogEntry> entries_;
};

TEST(RedisLogShare, EachInstanceHearsTheOthersEntriesInOrderAndNeverItsOwn) {
  test::RedisServer server;
  RedisStore one(url_of(server), named("one"));
  RedisStore two(url_of(server), named("two"));
  Heard heard_one, heard_two;
  ASSERT_TRUE(one.watch_log(heard_one.listener()));
  ASSERT_TRUE(two.watch_log(heard_two.listener()));
  std::this_thread::sleep_for(100ms);  // both tails are reading

  LogEntry incoming = entry("in:e1", "hello");
  incoming.user = "Ann";
  one.share_log(incoming);
  LogEntry reply = entry("out:e1-0", "hi back\n[image] https://x/y.png", LogOutcome::retrying);
  reply.error = "429 slow down";
  reply.attempts = 1;
  reply.reply_to = "in:e1";
  one.share_log(reply);
  two.share_log(entry("in:e2", "from two"));
  reply.outcome = LogOutcome::sent;
  reply.error.clear();
  reply.attempts = 2;
  one.share_log(reply);

  ASSERT_TRUE(heard_two.wait([](const std::vector<LogEntry>& got) {
    return !got.empty() && got.back().id == "out:e1-0" && got.back().outcome == LogOutcome::sent;
  }));
  ASSERT_TRUE(heard_one.wait([](const std::vector<LogEntry>& got) { return !got.empty(); }));
  std::this_thread::sleep_for(100ms);  // nothing more comes

  const auto got_two = heard_two.entries();
  ASSERT_GE(got_two.size(), 2u);
  // Every field comes across (the time to the millisecond).
  const auto same = [](const LogEntry& got, const LogEntry& shared) {
    EXPECT_EQ(got.id, shared.id);
    EXPECT_EQ(std::chrono::floor<std::chrono::milliseconds>(got.time),
              std::chrono::floor<std::chrono::milliseconds>(shared.time));
    EXPECT_EQ(got.bot, shared.bot);
    EXPECT_EQ(got.platform, shared.platform);
    EXPECT_EQ(got.chat_id, shared.chat_id);
    EXPECT_EQ(got.incoming, shared.incoming);
    EXPECT_EQ(got.user, shared.user);
    EXPECT_EQ(got.text, shared.text);
    EXPECT_EQ(got.outcome, shared.outcome);
    EXPECT_EQ(got.error, shared.error);
    EXPECT_EQ(got.attempts, shared.attempts);
    EXPECT_EQ(got.reply_to, shared.reply_to);
  };
  EXPECT_EQ(got_two.front().id, "in:e1") << "in the order shared";
  same(got_two.front(), incoming);
  same(got_two.back(), reply);
  for (const LogEntry& e : got_two) EXPECT_NE(e.id, "in:e2") << "its own entry came back";

  const auto got_one = heard_one.entries();
  ASSERT_EQ(got_one.size(), 1u);
  EXPECT_EQ(got_one.front().id, "in:e2");
  EXPECT_EQ(got_one.front().text, "from two");

  // An instance that starts later hears the recent entries first, every instance's (one's in
  // the order one shared them; one's and two's interleaved as their writes reached Redis).
  RedisStore three(url_of(server), named("three"));
  Heard heard_three;
  ASSERT_TRUE(three.watch_log(heard_three.listener()));
  const auto place = [](const std::vector<LogEntry>& got, const std::string& id) {
    return std::find_if(got.begin(), got.end(), [&](const LogEntry& e) { return e.id == id; });
  };
  ASSERT_TRUE(heard_three.wait([&](const std::vector<LogEntry>& got) {
    auto reply = place(got, "out:e1-0");
    return place(got, "in:e2") != got.end() && reply != got.end() &&
           reply->outcome == LogOutcome::sent;
  }));
  const auto got_three = heard_three.entries();
  EXPECT_LT(place(got_three, "in:e1"), place(got_three, "out:e1-0"));

  one.watch_log(nullptr);
  two.watch_log(nullptr);
  three.watch_log(nullptr);
}

TEST(RedisLogShare, AGrowingEntryEndsInItsLastStateAndTheStreamStaysCapped) {
  test::RedisServer server;
  RedisStore one(url_of(server), named("one", 50));
  RedisStore two(url_of(server), named("two", 50));
  Heard heard;
  ASSERT_TRUE(two.watch_log(heard.listener()));
  std::this_thread::sleep_for(100ms);

  // A streamed reply that grows by 2,000 small steps, beside 1,000 other entries.
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "x";
    one.share_log(entry("out:stream", text, LogOutcome::streaming));
    if (i % 2 == 0) one.share_log(entry("in:e" + std::to_string(i), "event"));
  }
  one.share_log(entry("out:stream", text, LogOutcome::sent));
  ASSERT_TRUE(heard.wait([&](const std::vector<LogEntry>& got) {
    return !got.empty() && got.back().id == "out:stream" && got.back().outcome == LogOutcome::sent;
  }));
  EXPECT_EQ(heard.entries().back().text, text);

  RedisStore three(url_of(server), named("three", 50));
  Heard recent;
  ASSERT_TRUE(three.watch_log(recent.listener()));
  ASSERT_TRUE(recent.wait([](const std::vector<LogEntry>& got) { return !got.empty(); }));
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(recent.entries().size(), 250u) << "the Stream keeps about its length, not 3,000";
  EXPECT_EQ(recent.entries().back().id, "out:stream");
  EXPECT_EQ(recent.entries().back().outcome, LogOutcome::sent);

  two.watch_log(nullptr);
  three.watch_log(nullptr);
}

}  // namespace
}  // namespace botgate::store
#endif
