#ifdef BOTGATE_WITH_REDIS
// Several store objects (instances) on one Redis: partitions split between them, one chat served
// by one object at a time, a dead object's work taken over, a stale holder fenced off, and work
// one object queued told to the others.
#include "botgate/store/redis_partitions.hpp"
#include "botgate/store/redis_store.hpp"

#include "support/redis_server.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using test::run_sync;
using Steady = std::chrono::steady_clock;

Event event_in(const std::string& chat, const std::string& id) {
  Event event;
  event.id = "ev-" + id;
  event.bot = "a";
  event.platform = "sandbox";
  event.platform_event_id = id;
  event.chat = Chat{chat, ChatType::group, std::nullopt};
  event.sender = User{"u1", "Ann", false};
  event.message = Message{"m-" + id, "text " + id, true, {Text{"text " + id}}};
  event.reply_credential = "credential-" + id;
  return event;
}

OutgoingMessage message_to(const std::string& chat, const std::string& text) {
  OutgoingMessage m = OutgoingMessage::plain(text);
  m.bot = "a";
  m.chat_id = chat;
  m.chat_type = ChatType::group;
  return m;
}

RedisUrl url_of(const test::RedisServer& server) {
  return parse_redis_url(server.url()).value();
}

/// Quick leases, so that takeovers happen within a test's patience.
RedisStoreOptions quick(const std::string& instance) {
  RedisStoreOptions options;
  options.instance = instance;
  options.lease_ttl = 1000ms;
  options.lease_renew_every = 100ms;
  return options;
}

std::vector<InboxItem> take(RedisStore& store, std::size_t limit = 1000) {
  return run_sync(store.inbox_take("a", limit)).value();
}

void accept(RedisStore& store, const Event& event) {
  ASSERT_TRUE(run_sync(store.accept(event, {"k-" + event.platform_event_id}, 1h)).value());
}

TEST(RedisPartitions, AChatAndItsRepliesHaveOneStablePartition) {
  // Stored data depends on it: the hash must never change.
  EXPECT_EQ(partition_of("group\nc1"), 6);
  EXPECT_EQ(partition_of("private\nu1"), 12);
  EXPECT_EQ(partition_of(""), 5);
  const Event event = event_in("c1", "1");
  EXPECT_EQ(partition_of(chat_lane(event.chat.type, event.chat.id)),
            partition_of(message_to("c1", "hi").lane()));
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    const int p = partition_of("group\nchat-" + std::to_string(i));
    ASSERT_GE(p, 0);
    ASSERT_LT(p, kPartitions);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPartitions)) << "chats spread over them all";
}

TEST(RedisPartitions, TwoInstancesSplitTheChatsEachChatServedByOneInOrderAndADeadOnesAreTakenOver) {
  test::RedisServer server;
  RedisStoreOptions one_options = quick("one");
  one_options.release_on_close = false;  // dies: its leases lapse by themselves
  auto one = std::make_unique<RedisStore>(url_of(server), one_options);
  RedisStore two(url_of(server), quick("two"));
  // Both take (so both lease), and the leases settle: a few renewals.
  take(*one);
  take(two);
  std::this_thread::sleep_for(800ms);

  constexpr int kChats = 40;
  constexpr int kPerChat = 3;
  int n = 0;
  for (int round = 0; round < kPerChat; ++round) {
    for (int c = 0; c < kChats; ++c) {
      accept(*one, event_in("chat-" + std::to_string(c), std::to_string(++n)));
    }
  }
  std::map<std::string, std::string> server_of_chat;
  std::map<std::string, std::int64_t> last_id_of_chat;
  std::set<std::int64_t> given;
  std::set<std::int64_t> given_to_one;
  auto record = [&](const std::vector<InboxItem>& items, const std::string& who) {
    for (const InboxItem& item : items) {
      EXPECT_TRUE(given.insert(item.id).second) << "given twice: " << item.id;
      auto [it, fresh] = server_of_chat.emplace(item.event.chat.id, who);
      EXPECT_EQ(it->second, who) << "chat " << item.event.chat.id << " served by both";
      EXPECT_GT(item.id, last_id_of_chat[item.event.chat.id]) << "out of order in its chat";
      last_id_of_chat[item.event.chat.id] = item.id;
      if (who == "one") given_to_one.insert(item.id);
    }
  };
  record(take(*one), "one");
  record(take(two), "two");
  EXPECT_EQ(given.size(), static_cast<std::size_t>(n)) << "between them, every event";
  EXPECT_FALSE(given_to_one.empty());
  EXPECT_LT(given_to_one.size(), given.size()) << "split, not all to one";
  EXPECT_TRUE(take(*one).empty());
  EXPECT_TRUE(take(two).empty());

  // "one" dies with its events taken and not completed: "two" takes its partitions over and
  // gives them again, each once, in their chats' order.
  one.reset();
  std::set<std::int64_t> again;
  std::map<std::string, std::int64_t> last_again;
  const auto deadline = Steady::now() + 10s;
  while (again.size() < given_to_one.size() && Steady::now() < deadline) {
    for (const InboxItem& item : take(two)) {
      EXPECT_TRUE(given_to_one.contains(item.id)) << "only what the dead one held: " << item.id;
      EXPECT_TRUE(again.insert(item.id).second) << "given twice: " << item.id;
      EXPECT_GT(item.id, last_again[item.event.chat.id]);
      last_again[item.event.chat.id] = item.id;
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(again, given_to_one);
  const auto depth = run_sync(two.queue_depth("a")).value();
  EXPECT_EQ(depth.inbox, n) << "nothing completed yet, nothing lost";
}

TEST(RedisPartitions, AnInstanceThatDoesNotRunABotTakesNoShareOfIt) {
  test::RedisServer server;
  RedisStore one(url_of(server), quick("one"));
  RedisStore two(url_of(server), quick("two"));
  // Both run bot a; only "one" runs bot b (say, a gateway bot kept to one instance).
  take(one);
  take(two);
  ASSERT_TRUE(run_sync(one.inbox_take("b", 10)));
  std::this_thread::sleep_for(800ms);
  for (int c = 0; c < 40; ++c) {
    Event event = event_in("chat-" + std::to_string(c), std::to_string(c));
    event.bot = "b";
    accept(one, event);
  }
  EXPECT_EQ(run_sync(one.inbox_take("b", 100)).value().size(), 40u)
      << "every chat of b is served, all by the only instance that runs it";
}

TEST(RedisPartitions, ACleanShutdownHandsThePartitionsOverAtOnce) {
  test::RedisServer server;
  RedisStoreOptions slow = quick("one");
  slow.lease_ttl = 30s;  // a lapse would take this long
  auto one = std::make_unique<RedisStore>(url_of(server), slow);
  take(*one);  // alone: every partition
  RedisStoreOptions two_options = quick("two");
  two_options.lease_ttl = 30s;
  RedisStore two(url_of(server), two_options);
  accept(two, event_in("c1", "1"));
  EXPECT_TRUE(take(two).empty()) << "\"one\" serves every chat";
  one.reset();
  std::vector<InboxItem> got;
  const auto deadline = Steady::now() + 3s;
  while (got.empty() && Steady::now() < deadline) {
    got = take(two);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(got.size(), 1u) << "taken over well before the 30 s lease";
}

TEST(RedisPartitions, AHolderWhoseLeaseLapsedIsFencedOffItsCompletionQueuesNothing) {
  test::RedisServer server;
  // "stale" never renews: its leases lapse after 2 s while it goes on, as a process stuck in a
  // long pause would.
  RedisStoreOptions stale_options;
  stale_options.instance = "stale";
  stale_options.lease_ttl = 2000ms;
  stale_options.lease_renew_every = 1h;
  stale_options.release_on_close = false;
  RedisStore stale(url_of(server), stale_options);
  accept(stale, event_in("c1", "1"));
  const auto taken = take(stale);
  ASSERT_EQ(taken.size(), 1u);
  const std::int64_t out_id = run_sync(stale.outbox_push(message_to("c2", "queued"))).value();
  auto out = run_sync(stale.outbox_take("a", SystemTime::clock::now() + 1s, 10, 10)).value();
  ASSERT_EQ(out.size(), 1u);

  RedisStore fresh(url_of(server), quick("fresh"));
  std::vector<InboxItem> again;
  const auto deadline = Steady::now() + 10s;
  while (again.empty() && Steady::now() < deadline) {
    again = take(fresh);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(again.size(), 1u) << "taken over once the stale lease lapsed";
  EXPECT_EQ(again[0].id, taken[0].id);

  // The stale holder finishes late: nothing of it counts. Giving up on the event is not its
  // call any more either.
  auto dead = run_sync(stale.inbox_dead_letter(taken[0].id, "late"));
  ASSERT_FALSE(dead);
  EXPECT_TRUE(dead.error().is(errc::not_found)) << dead.error().message();
  ASSERT_TRUE(run_sync(stale.inbox_complete(taken[0].id, {message_to("c1", "from stale")})));
  auto depth = run_sync(fresh.queue_depth("a")).value();
  EXPECT_EQ(depth.inbox, 1) << "still the new holder's to complete";
  EXPECT_EQ(depth.outbox, 1) << "the stale completion queued no reply";
  ASSERT_TRUE(run_sync(fresh.inbox_complete(taken[0].id, {message_to("c1", "from fresh")})));
  // A second completion (the stale one again) finds nothing to do.
  ASSERT_TRUE(run_sync(stale.inbox_complete(taken[0].id, {message_to("c1", "again")})));
  depth = run_sync(fresh.queue_depth("a")).value();
  EXPECT_EQ(depth.inbox, 0);
  EXPECT_EQ(depth.outbox, 2) << "the queued message and fresh's one reply";

  // The outbox: the message the stale holder took is given to the new holder; the stale one's
  // retry changes nothing.
  std::vector<OutboxItem> messages;
  const auto out_deadline = Steady::now() + 5s;
  while (messages.size() < 2 && Steady::now() < out_deadline) {
    for (OutboxItem& item :
         run_sync(fresh.outbox_take("a", SystemTime::clock::now() + 1s, 10, 10)).value()) {
      messages.push_back(std::move(item));
    }
    std::this_thread::sleep_for(50ms);
  }
  std::sort(messages.begin(), messages.end(),
            [](const OutboxItem& x, const OutboxItem& y) { return x.id < y.id; });
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].id, out_id);
  EXPECT_EQ(messages[1].message.plain_text(), "from fresh");
  ASSERT_TRUE(run_sync(stale.outbox_retry(out_id, SystemTime::clock::now() + 1h, "late")));
  auto status = run_sync(fresh.outbox_status(out_id)).value();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->attempts, 0) << "a stale retry is not recorded";
  ASSERT_TRUE(run_sync(fresh.outbox_sent(out_id, "pm-1")));
  EXPECT_EQ(run_sync(fresh.outbox_status(out_id)).value()->state, OutboxState::sent);
}

TEST(RedisPartitions, AnotherInstanceIsToldAtOnceOfWorkQueuedForABot) {
  test::RedisServer server;
  RedisStore one(url_of(server), quick("one"));
  RedisStore two(url_of(server), quick("two"));
  std::mutex mutex;
  std::vector<std::pair<std::string, Steady::time_point>> told;
  two.watch_work([&](const std::string& bot) {
    std::lock_guard lock(mutex);
    told.emplace_back(bot, Steady::now());
  });
  std::this_thread::sleep_for(300ms);  // the watch reads from the newest entry on
  const auto accepted_at = Steady::now();
  accept(one, event_in("c1", "1"));
  const auto deadline = Steady::now() + 2s;
  std::optional<Steady::time_point> first;
  while (!first && Steady::now() < deadline) {
    {
      std::lock_guard lock(mutex);
      for (const auto& [bot, at] : told) {
        if (bot == "a") first = at;
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(first.has_value()) << "\"two\" was not told of bot a's work";
  // "two" never took bot a's work: no safety poll names it; the wake-up did, promptly.
  EXPECT_LT(*first - accepted_at, 300ms);

  two.watch_work(nullptr);
  std::lock_guard lock(mutex);
  told.clear();
}

TEST(RedisPartitions, EveryInstancesEventLogListenerIsToldOfEveryInstancesAcceptsInCursorOrder) {
  test::RedisServer server;
  RedisStore one(url_of(server), quick("one"));
  accept(one, event_in("c1", "before"));
  RedisStore two(url_of(server), quick("two"));
  std::mutex mutex;
  std::vector<LoggedEvent> told_one, told_two;
  const std::int64_t head_one = one.watch_events([&](LoggedEvent e) {
    std::lock_guard lock(mutex);
    told_one.push_back(std::move(e));
  });
  const std::int64_t head_two = two.watch_events([&](LoggedEvent e) {
    std::lock_guard lock(mutex);
    told_two.push_back(std::move(e));
  });
  EXPECT_GT(head_two, 0) << "an object started after an accept knows the log's head";
  // Accepts on both, interleaved; each listener hears all of them once, in cursor order (and
  // "one" also of the first accept when it had not read it yet at its watch).
  for (int i = 0; i < 20; ++i) {
    accept(i % 2 == 0 ? one : two, event_in("c" + std::to_string(i % 3), std::to_string(i)));
  }
  const auto logged_one = run_sync(one.events_after(head_one, EventFilter{}, 100)).value();
  const auto logged_two = run_sync(two.events_after(head_two, EventFilter{}, 100)).value();
  ASSERT_EQ(logged_two.size(), 20u);
  ASSERT_GE(logged_one.size(), 20u);
  const auto deadline = Steady::now() + 3s;
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (told_one.size() >= logged_one.size() && told_two.size() >= 20) break;
    }
    ASSERT_LT(Steady::now(), deadline) << told_one.size() << " and " << told_two.size();
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(100ms);  // nothing more comes
  {
    std::lock_guard lock(mutex);
    for (const auto& [told, logged] : {std::pair{&told_one, &logged_one},
                                       std::pair{&told_two, &logged_two}}) {
      ASSERT_EQ(told->size(), logged->size());
      for (std::size_t i = 0; i < logged->size(); ++i) {
        EXPECT_EQ((*told)[i].cursor, (*logged)[i].cursor);
        EXPECT_EQ((*told)[i].json, (*logged)[i].json);
        EXPECT_EQ((*told)[i].chat, (*logged)[i].chat);
      }
    }
  }
  const std::int64_t last = logged_two.back().cursor;
  EXPECT_EQ(one.watch_events(nullptr), last);
  EXPECT_EQ(two.watch_events(nullptr), last);
}

}  // namespace
}  // namespace botgate::store
#endif
