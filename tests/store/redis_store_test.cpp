#ifdef BOTGATE_WITH_REDIS
// What the Redis store does beyond the Store contract (store_contract_test runs that): Redis
// going away and coming back, two instances on one Redis, and retention.
#include "botgate/store/redis_store.hpp"

#include "support/redis_server.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using test::run_sync;

Event event_of(const std::string& bot, const std::string& id) {
  Event event;
  event.id = "ev-" + id;
  event.bot = bot;
  event.platform = "sandbox";
  event.platform_event_id = id;
  event.chat = Chat{"c1", ChatType::group, std::nullopt};
  event.sender = User{"u1", "Ann", false};
  event.message = Message{"m-" + id, "text " + id, true, {Text{"text " + id}}};
  event.reply_credential = "credential-" + id;
  return event;
}

OutgoingMessage reply_to(const std::string& bot, const std::string& text) {
  OutgoingMessage m = OutgoingMessage::plain(text);
  m.bot = bot;
  m.chat_id = "c1";
  m.chat_type = ChatType::group;
  return m;
}

RedisUrl url_of(const test::RedisServer& server) {
  return parse_redis_url(server.url()).value();
}

TEST(RedisStore, FailsWithStoreFailedWhileRedisIsDownAndGoesOnWhenItIsBack) {
  test::RedisServer server;
  RedisStore store(url_of(server));
  ASSERT_TRUE(run_sync(store.accept(event_of("a", "1"), {"k1"}, 1h)).value());
  server.kill();
  auto down = run_sync(store.accept(event_of("a", "2"), {"k2"}, 1h));
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().is(errc::store_failed)) << down.error().message();  // a webhook's 503
  server.start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  Result<bool> back = Error{errc::store_failed};
  while (!back && std::chrono::steady_clock::now() < deadline) {
    back = run_sync(store.accept(event_of("a", "2"), {"k2"}, 1h));
    if (!back) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(*back);
  auto taken = run_sync(store.inbox_take("a", 10)).value();
  ASSERT_EQ(taken.size(), 1u);  // this server keeps nothing across a restart
  EXPECT_EQ(taken[0].event.reply_credential, "credential-2");
}

TEST(RedisStore, TwoInstancesDedupTogetherAndARestartedInstanceTakesBackItsChatsAtOnce) {
  test::RedisServer server;
  RedisStoreOptions first_options;
  first_options.instance = "one";
  first_options.lease_ttl = 30s;  // a lapse would take this long
  first_options.release_on_close = false;  // its end is a crash
  RedisStoreOptions second_options;
  second_options.instance = "two";
  second_options.lease_ttl = 30s;
  auto first = std::make_unique<RedisStore>(url_of(server), first_options);
  RedisStore second(url_of(server), second_options);

  ASSERT_TRUE(run_sync(first->accept(event_of("a", "1"), {"k1"}, 1h)).value());
  EXPECT_FALSE(run_sync(second.accept(event_of("a", "1"), {"k1"}, 1h)).value())
      << "a callback redelivered to the other instance is a duplicate";
  ASSERT_TRUE(run_sync(second.accept(event_of("a", "2"), {"k2"}, 1h)).value());

  // One chat (c1) is served by one instance: the first to take leases its half, c1's included.
  auto taken_by_first = run_sync(first->inbox_take("a", 10)).value();
  ASSERT_EQ(taken_by_first.size(), 2u);
  EXPECT_TRUE(run_sync(second.inbox_take("a", 10)).value().empty()) << "not its chat";

  const std::int64_t id = run_sync(second.outbox_push(reply_to("a", "hi"))).value();
  EXPECT_TRUE(run_sync(second.outbox_take("a", SystemTime::clock::now() + 1s, 10, 10))
                  .value()
                  .empty());
  auto out = run_sync(first->outbox_take("a", SystemTime::clock::now() + 1s, 10, 10)).value();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, id);

  // "one" crashes and restarts: it takes back its chats at once (not after the lease's 30 s)
  // and gives again what it held.
  first.reset();
  RedisStore first_again(url_of(server), first_options);
  auto again = run_sync(first_again.inbox_take("a", 10)).value();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, taken_by_first[0].id);
  auto out_again =
      run_sync(first_again.outbox_take("a", SystemTime::clock::now() + 1s, 10, 10)).value();
  ASSERT_EQ(out_again.size(), 1u);
  EXPECT_EQ(out_again[0].id, id);
  EXPECT_TRUE(run_sync(second.inbox_take("a", 10)).value().empty());
}

TEST(RedisStore, TwoInstancesCountARateLimitTogetherAndSeeEachOthersHolds) {
  test::RedisServer server;
  RedisStoreOptions first_options;
  first_options.instance = "one";
  RedisStoreOptions second_options;
  second_options.instance = "two";
  RedisStore first(url_of(server), first_options);
  RedisStore second(url_of(server), second_options);
  for (int i = 0; i < 5; ++i) {
    RedisStore& store = i % 2 == 0 ? first : second;
    EXPECT_EQ(run_sync(store.rate_take("wecom:webhook:k", 5, 60s)).value(), std::nullopt) << i;
  }
  EXPECT_TRUE(run_sync(first.rate_take("wecom:webhook:k", 5, 60s)).value().has_value());
  EXPECT_TRUE(run_sync(second.rate_take("wecom:webhook:k", 5, 60s)).value().has_value());

  ASSERT_TRUE(run_sync(first.rate_hold("discord:global", 30s)));
  const auto held = run_sync(second.rate_take("discord:global", 50, 1s)).value();
  ASSERT_TRUE(held.has_value());
  EXPECT_GT(*held, 29s);

  server.kill();
  auto down = run_sync(second.rate_take("wecom:webhook:other", 5, 60s));
  ASSERT_FALSE(down) << "no answer is not a use given";
  EXPECT_TRUE(down.error().is(errc::store_failed)) << down.error().message();
}

TEST(RedisStore, DeletesLogEntriesAndFinishedMessagesPastTheirRetention) {
  test::RedisServer server;
  RedisStoreOptions options;
  options.event_retention = 200ms;
  options.finished_retention = 200ms;
  options.purge_every = 50ms;
  RedisStore store(url_of(server), options);
  ASSERT_TRUE(run_sync(store.accept(event_of("a", "1"), {"k1"}, 1h)).value());
  auto pushed =
      run_sync(store.outbox_push_message({reply_to("a", "once")}, "client-key")).value();
  ASSERT_TRUE(run_sync(store.outbox_sent(pushed.id, "pm-1")));
  ASSERT_EQ(run_sync(store.events_after(0, {}, 10)).value().size(), 1u);
  ASSERT_TRUE(run_sync(store.outbox_status(pushed.id)).value().has_value());

  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(run_sync(store.events_after(0, {}, 10)).value().empty());
  EXPECT_FALSE(run_sync(store.outbox_status(pushed.id)).value().has_value());
  // The client key went with its message: the same key queues a new one.
  auto again =
      run_sync(store.outbox_push_message({reply_to("a", "once")}, "client-key")).value();
  EXPECT_TRUE(again.queued);
  EXPECT_GT(again.id, pushed.id);
  // Cursors go on growing after the purge.
  ASSERT_TRUE(run_sync(store.accept(event_of("a", "2"), {"k2"}, 1h)).value());
  auto logged = run_sync(store.events_after(0, {}, 10)).value();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_GT(logged[0].cursor, 1);
}

}  // namespace
}  // namespace botgate::store
#endif
