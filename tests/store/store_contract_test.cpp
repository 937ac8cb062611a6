// The Store contract (core/store.hpp), run against every implementation: the in-memory store
// the runtime tests use, the SQLite store and the Redis store (on a real redis-server).
// Each test says what any store must do, never how one does it.
#include "botgate/core/store.hpp"
#include "botgate/core/event_json.hpp"
#include "botgate/store/sqlite_store.hpp"
#ifdef BOTGATE_WITH_REDIS
#include "botgate/store/redis_store.hpp"
#include "support/redis_server.hpp"
#endif

#include "support/memory_store.hpp"
#include "support/run_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using test::run_sync;

/// Makes a store, and "restarts" it: a new store object on the same data, as after a crash.
class StoreMaker {
 public:
  virtual ~StoreMaker() = default;
  virtual Store& store() = 0;
  virtual void restart() = 0;
  /// Whether the store tells its event log's listener of an accept before the accept's caller
  /// resumes (a store only its process writes), or a few milliseconds later (a shared one).
  virtual bool tells_at_once() const { return true; }
  /// Whether several instances share the store's data (and so its message log).
  virtual bool shared() const { return false; }
};

class MemoryMaker final : public StoreMaker {
 public:
  Store& store() override { return store_; }
  void restart() override { store_.restart(); }

 private:
  test::MemoryStore store_;
};

class SqliteMaker final : public StoreMaker {
 public:
  SqliteMaker() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("botgate-contract-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter++) + ".db"))
                .string();
    remove_files();
    store_ = std::make_unique<store::SqliteStore>(path_);
  }
  ~SqliteMaker() override {
    store_.reset();
    remove_files();
  }
  Store& store() override { return *store_; }
  void restart() override {
    store_.reset();
    store_ = std::make_unique<store::SqliteStore>(path_);
  }

 private:
  void remove_files() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-key"}) {
      std::filesystem::remove(path_ + suffix, ignored);
    }
  }
  std::string path_;
  std::unique_ptr<store::SqliteStore> store_;
};

#ifdef BOTGATE_WITH_REDIS
/// One redis-server for the whole run; each maker keeps its keys under a prefix of its own.
class RedisMaker final : public StoreMaker {
 public:
  RedisMaker() {
    static std::atomic<int> counter{0};
    options_.key_prefix = "botgate-contract-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter++) + ":";
    store_ = std::make_unique<store::RedisStore>(url(), options_);
  }
  Store& store() override { return *store_; }
  void restart() override {
    store_.reset();
    store_ = std::make_unique<store::RedisStore>(url(), options_);
  }
  bool tells_at_once() const override { return false; }
  bool shared() const override { return true; }

 private:
  static store::RedisUrl url() {
    static test::RedisServer server;  // stopped at exit
    return store::parse_redis_url(server.url()).value();
  }
  store::RedisStoreOptions options_;
  std::unique_ptr<store::RedisStore> store_;
};
#endif

template <class Maker>
class StoreContractTest : public ::testing::Test {
 protected:
  Store& store() { return maker_.store(); }
  void restart() { maker_.restart(); }
  bool tells_at_once() const { return maker_.tells_at_once(); }
  bool shared() const { return maker_.shared(); }

  bool accept(const Event& event, std::vector<std::string> keys, std::chrono::seconds ttl = 1h) {
    return run_sync(store().accept(event, std::move(keys), ttl)).value();
  }
  std::vector<InboxItem> take(const std::string& bot, std::size_t limit = 100) {
    return run_sync(store().inbox_take(bot, limit)).value();
  }
  /// outbox_take at a time just past now.
  std::vector<OutboxItem> take_out(const std::string& bot, std::size_t limit = 100,
                                   std::size_t lane_limit = 100) {
    return run_sync(store().outbox_take(bot, SystemTime::clock::now() + 1ms, limit, lane_limit))
        .value();
  }
  std::int64_t push(const OutgoingMessage& message) {
    return run_sync(store().outbox_push(message)).value();
  }
  std::optional<SystemTime> next_due(const std::string& bot) {
    return run_sync(store().outbox_next_due(bot)).value();
  }
  std::vector<InboxItem> pending(const std::string& bot, std::size_t limit = 100) {
    return run_sync(store().inbox_pending(bot, limit)).value();
  }
  void retry(std::int64_t inbox_id, const std::string& error) {
    ASSERT_TRUE(run_sync(store().inbox_retry(inbox_id, error)));
  }
  std::int64_t dead_letter(std::int64_t inbox_id, const std::string& reason) {
    return run_sync(store().inbox_dead_letter(inbox_id, reason)).value();
  }
  std::vector<DeadLetter> dead_letters(const std::string& bot, std::int64_t before = 0,
                                       std::size_t limit = 100) {
    return run_sync(store().dead_letters(bot, before, limit)).value();
  }
  QueueDepth depth(const std::string& bot) { return run_sync(store().queue_depth(bot)).value(); }
  OutboxStatus status(std::int64_t id) {
    auto status = run_sync(store().outbox_status(id)).value();
    EXPECT_TRUE(status.has_value()) << id;
    return status.value_or(OutboxStatus{});
  }

  Maker maker_;
};

#ifdef BOTGATE_WITH_REDIS
using Makers = ::testing::Types<MemoryMaker, SqliteMaker, RedisMaker>;
#else
using Makers = ::testing::Types<MemoryMaker, SqliteMaker>;
#endif
TYPED_TEST_SUITE(StoreContractTest, Makers);

Event event_of(const std::string& bot, const std::string& id, const std::string& chat = "c1") {
  Event event;
  event.id = "ev-" + id;
  event.bot = bot;
  event.platform = "sandbox";
  event.platform_event_id = id;
  event.chat = Chat{chat, ChatType::group, std::nullopt};
  event.sender = User{"u1", "Ann", false};
  event.message = Message{"m-" + id, "text " + id, true, {Text{"text " + id}}};
  return event;
}

OutgoingMessage reply(const std::string& bot, const std::string& text,
                      const std::string& chat = "c1") {
  OutgoingMessage m = OutgoingMessage::plain(text);
  m.bot = bot;
  m.chat_id = chat;
  m.chat_type = ChatType::group;
  m.idempotency_key = "key-" + text;
  return m;
}

TYPED_TEST(StoreContractTest, AcceptStoresANewEventOnceAndForgetsAKeyOnlyAfterItsTtl) {
  EXPECT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  EXPECT_FALSE(this->accept(event_of("a", "1"), {"k1"})) << "a redelivery";
  EXPECT_FALSE(this->accept(event_of("a", "2"), {"k2", "k1"})) << "any key seen counts";
  EXPECT_TRUE(this->accept(event_of("a", "3"), {"k3"}, 0s));
  EXPECT_TRUE(this->accept(event_of("a", "3"), {"k3"}, 0s)) << "its key expired at once";
  this->restart();
  EXPECT_FALSE(this->accept(event_of("a", "1"), {"k1"})) << "dedup survives a restart";
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].event, event_of("a", "1"));
}

TYPED_TEST(StoreContractTest, TakeGivesEachEventOnceOldestFirstUntilCompletedOrRestarted) {
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(this->accept(event_of("a", std::to_string(i)), {"k" + std::to_string(i)}));
  }
  ASSERT_TRUE(this->accept(event_of("b", "9"), {"k9"}));
  const auto first = this->take("a", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].event.platform_event_id, "1");
  EXPECT_EQ(first[1].event.platform_event_id, "2");
  const auto rest = this->take("a");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].event.platform_event_id, "3");
  EXPECT_TRUE(this->take("a").empty());
  EXPECT_EQ(this->take("b").size(), 1u) << "each bot's own";

  ASSERT_TRUE(run_sync(this->store().inbox_complete(first[0].id, {})));
  const auto depth = run_sync(this->store().queue_depth("a")).value();
  EXPECT_EQ(depth.inbox, 3);
  this->restart();
  const auto again = this->take("a");
  ASSERT_EQ(again.size(), 3u) << "what was not completed is handled again";
  EXPECT_EQ(again[0].event.platform_event_id, "2");
}

TYPED_TEST(StoreContractTest, CompletingAnEventQueuesItsRepliesInOrderInOneStep) {
  ASSERT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 2u);
  std::vector<InboxCompletion> done;
  done.push_back(InboxCompletion{taken[0].id, {reply("a", "one"), reply("a", "two")}});
  done.push_back(InboxCompletion{taken[1].id, {reply("a", "three")}});
  ASSERT_TRUE(run_sync(this->store().inbox_complete(std::move(done))));
  EXPECT_TRUE(run_sync(this->store().inbox_pending("a", 10)).value().empty());
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 3);
  // The replies are takeable at once, in order, as queued.
  const auto waiting = this->take_out("a");
  ASSERT_EQ(waiting.size(), 3u);
  EXPECT_EQ(waiting[0].message.plain_text(), "one");
  EXPECT_EQ(waiting[0].message.idempotency_key, "key-one");
  EXPECT_EQ(waiting[0].message, reply("a", "one"));
  EXPECT_EQ(waiting[0].attempts, 0);
  EXPECT_EQ(waiting[1].message.plain_text(), "two");
  EXPECT_EQ(waiting[2].message.plain_text(), "three");
  EXPECT_LT(waiting[0].id, waiting[1].id);
  EXPECT_LT(waiting[1].id, waiting[2].id);
  // Completed again after a restart (the event was not completed, say): later replies go
  // behind those queued before.
  ASSERT_TRUE(this->accept(event_of("a", "3"), {"k3"}));
  const auto third = this->take("a");
  ASSERT_EQ(third.size(), 1u);
  ASSERT_TRUE(run_sync(this->store().inbox_complete(third[0].id, {reply("a", "four")})));
  this->restart();
  const auto after_restart = this->take_out("a");
  ASSERT_EQ(after_restart.size(), 4u);
  EXPECT_EQ(after_restart[0].message, reply("a", "one"));
  EXPECT_EQ(after_restart[3].message, reply("a", "four"));
}

std::vector<std::string> event_ids(const std::vector<InboxItem>& items) {
  std::vector<std::string> ids;
  for (const InboxItem& item : items) ids.push_back(item.event.platform_event_id);
  return ids;
}
std::vector<std::string> event_ids(const std::vector<DeadLetter>& letters) {
  std::vector<std::string> ids;
  for (const DeadLetter& letter : letters) ids.push_back(letter.event.platform_event_id);
  return ids;
}

TYPED_TEST(StoreContractTest, AnEventAnsweredLaterIsKeptAsAReplyReferenceWithItsCredential) {
  Event later = event_of("a", "1");
  later.reply_credential = "https://example.invalid/hook?key=REPLY-REF-SECRET";
  ASSERT_TRUE(this->accept(later, {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 2u);
  std::vector<InboxCompletion> done;
  InboxCompletion first{taken[0].id};
  first.keep_reply_ref = true;
  first.event_id = taken[0].event.id;
  done.push_back(std::move(first));
  done.push_back(InboxCompletion{taken[1].id});
  ASSERT_TRUE(run_sync(this->store().inbox_complete(std::move(done))));
  EXPECT_TRUE(run_sync(this->store().inbox_pending("a", 10)).value().empty());
  this->restart();
  auto kept = run_sync(this->store().reply_ref("ev-1")).value();
  ASSERT_TRUE(kept.has_value()) << "the reference did not survive the restart";
  EXPECT_EQ(*kept, later);
  EXPECT_EQ(kept->reply_credential, later.reply_credential);
  EXPECT_FALSE(run_sync(this->store().reply_ref("ev-2")).value().has_value())
      << "an event completed without keep_reply_ref is not kept";
  EXPECT_FALSE(run_sync(this->store().reply_ref("ev-unknown")).value().has_value());
  // A reference serves several replies.
  EXPECT_TRUE(run_sync(this->store().reply_ref("ev-1")).value().has_value());
}

TYPED_TEST(StoreContractTest, FailedAttemptsAreCountedAndGivenAgainAfterARestart) {
  const SystemTime before = SystemTime::clock::now();
  ASSERT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const SystemTime after = SystemTime::clock::now();
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].attempts, 0) << "a new event";
  EXPECT_GE(taken[0].accepted_at, before - 1ms) << "kept to the millisecond at least";
  EXPECT_LE(taken[0].accepted_at, after);
  EXPECT_LE(taken[0].accepted_at, taken[1].accepted_at);

  this->retry(taken[0].id, "502 from the service");
  this->retry(taken[0].id, "timeout");
  this->retry(987654, "an id not in the inbox");
  EXPECT_TRUE(this->take("a").empty()) << "a retried event stays taken by its taker";
  auto view = this->pending("a");
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0].attempts, 2);
  EXPECT_EQ(view[0].accepted_at, taken[0].accepted_at) << "a retry does not make it newer";
  EXPECT_EQ(view[1].attempts, 0);
  EXPECT_EQ(this->depth("a").inbox, 2);

  this->restart();
  const auto again = this->take("a");
  ASSERT_EQ(event_ids(again), (std::vector<std::string>{"1", "2"})) << "still in its place";
  EXPECT_EQ(again[0].attempts, 2) << "a limit on attempts holds across restarts";
  EXPECT_EQ(again[0].accepted_at, taken[0].accepted_at);
  EXPECT_EQ(again[0].event, event_of("a", "1"));
  EXPECT_EQ(again[1].attempts, 0);
  EXPECT_EQ(again[1].accepted_at, taken[1].accepted_at);
  this->retry(again[0].id, "502 again");
  EXPECT_EQ(this->pending("a")[0].attempts, 3) << "counted on from where it was";
}

TYPED_TEST(StoreContractTest, ADeadLetterLeavesTheInboxWithItsAttemptsAndReasonAndIsKept) {
  Event event = event_of("a", "1");
  event.reply_credential = "https://example.test/hook?key=SECRET";
  ASSERT_TRUE(this->accept(event, {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 2u);
  this->retry(taken[0].id, "502");
  const SystemTime before = SystemTime::clock::now();
  const std::int64_t id = this->dead_letter(taken[0].id, "gave up after 2 attempts");
  const SystemTime after = SystemTime::clock::now();

  EXPECT_EQ(event_ids(this->pending("a")), std::vector<std::string>{"2"});
  EXPECT_TRUE(this->take("a").empty()) << "event 2 is still taken; event 1 is gone";
  const QueueDepth depth = this->depth("a");
  EXPECT_EQ(depth.inbox, 1);
  EXPECT_EQ(depth.dead_letters, 1);
  EXPECT_EQ(this->depth("b").dead_letters, 0) << "each bot's own";

  auto check = [&](const std::vector<DeadLetter>& letters) {
    ASSERT_EQ(letters.size(), 1u);
    const DeadLetter& letter = letters[0];
    EXPECT_EQ(letter.id, id);
    EXPECT_EQ(letter.event, event) << "with its reply credential";
    EXPECT_EQ(letter.attempts, 2) << "the attempt recorded and the last one";
    EXPECT_EQ(letter.reason, "gave up after 2 attempts");
    EXPECT_EQ(letter.accepted_at, taken[0].accepted_at);
    EXPECT_GE(letter.dead_at, before - 1ms);
    EXPECT_LE(letter.dead_at, after);
  };
  check(this->dead_letters("a"));

  const auto twice = run_sync(this->store().inbox_dead_letter(taken[0].id, "again"));
  ASSERT_FALSE(twice) << "it is no longer in the inbox";
  EXPECT_EQ(twice.error().code, errc::not_found);
  const auto unknown = run_sync(this->store().inbox_dead_letter(987654, "no such event"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, errc::not_found);
  EXPECT_EQ(this->dead_letters("").size(), 1u) << "neither made a dead letter";

  this->restart();
  EXPECT_EQ(event_ids(this->take("a")), std::vector<std::string>{"2"})
      << "a dead letter is not handled again after a restart";
  check(this->dead_letters("a"));
  EXPECT_EQ(this->depth("a").dead_letters, 1);
}

TYPED_TEST(StoreContractTest, DeadLettersAreListedNewestFirstByBotBeforeAnIdAndLimited) {
  EXPECT_TRUE(this->dead_letters("").empty());
  std::map<std::string, std::int64_t> ids;
  for (const auto& [bot, name] : std::vector<std::pair<std::string, std::string>>{
           {"a", "a1"}, {"b", "b1"}, {"a", "a2"}, {"a", "a3"}}) {
    ASSERT_TRUE(this->accept(event_of(bot, name), {name}));
    const auto taken = this->take(bot);
    ASSERT_EQ(taken.size(), 1u);
    ids[name] = this->dead_letter(taken[0].id, "reason " + name);
  }
  EXPECT_LT(ids["a1"], ids["b1"]);
  EXPECT_LT(ids["b1"], ids["a2"]);
  EXPECT_LT(ids["a2"], ids["a3"]);
  using Ids = std::vector<std::string>;
  EXPECT_EQ(event_ids(this->dead_letters("")), (Ids{"a3", "a2", "b1", "a1"})) << "every bot";
  EXPECT_EQ(event_ids(this->dead_letters("a")), (Ids{"a3", "a2", "a1"}));
  EXPECT_EQ(event_ids(this->dead_letters("b")), Ids{"b1"});
  EXPECT_TRUE(this->dead_letters("c").empty());
  EXPECT_EQ(event_ids(this->dead_letters("a", 0, 2)), (Ids{"a3", "a2"}));
  EXPECT_EQ(event_ids(this->dead_letters("a", ids["a2"], 100)), Ids{"a1"}) << "the next page";
  EXPECT_EQ(event_ids(this->dead_letters("", ids["a2"], 1)), Ids{"b1"});
  EXPECT_TRUE(this->dead_letters("a", ids["a1"], 100).empty());
  EXPECT_EQ(this->dead_letters("a")[0].reason, "reason a3");

  ASSERT_TRUE(run_sync(this->store().dead_letter_discard(ids["a3"])).value());
  this->restart();
  ASSERT_TRUE(this->accept(event_of("a", "a4"), {"a4"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 1u);
  const std::int64_t a4 = this->dead_letter(taken[0].id, "reason a4");
  EXPECT_GT(a4, ids["a3"]) << "a dead letter's id is never given again, even after a restart";
  EXPECT_EQ(event_ids(this->dead_letters("a")), (Ids{"a4", "a2", "a1"}));
}

TYPED_TEST(StoreContractTest, ARetriedDeadLetterGoesBackToTheEndOfTheInboxOnce) {
  Event event = event_of("a", "1");
  event.reply_credential = "https://example.test/hook?key=SECRET";
  ASSERT_TRUE(this->accept(event, {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  ASSERT_TRUE(this->accept(event_of("a", "3"), {"k3"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 3u);
  this->retry(taken[0].id, "502");
  const std::int64_t id = this->dead_letter(taken[0].id, "gave up");

  const SystemTime before = SystemTime::clock::now();
  const auto bot = run_sync(this->store().dead_letter_retry(id)).value();
  ASSERT_TRUE(bot.has_value());
  EXPECT_EQ(*bot, "a");
  EXPECT_FALSE(run_sync(this->store().dead_letter_retry(id)).value())
      << "a second retry of the same dead letter finds none";
  EXPECT_FALSE(run_sync(this->store().dead_letter_retry(987654)).value());
  EXPECT_TRUE(this->dead_letters("a").empty());
  EXPECT_EQ(this->depth("a").dead_letters, 0);
  EXPECT_EQ(this->depth("a").inbox, 3);
  // Dedup is not consulted: the event's key is still remembered, and the retry goes in anyway.
  EXPECT_FALSE(this->accept(event_of("a", "1"), {"k1"}));

  const auto back = this->take("a");
  ASSERT_EQ(back.size(), 1u) << "2 and 3 are still taken; the retried event is new";
  EXPECT_EQ(back[0].event, event) << "with its reply credential";
  EXPECT_EQ(back[0].attempts, 0);
  EXPECT_GE(back[0].accepted_at, before - 1ms) << "accepted now";
  EXPECT_LE(back[0].accepted_at, SystemTime::clock::now());
  EXPECT_EQ(event_ids(this->pending("a")), (std::vector<std::string>{"2", "3", "1"}))
      << "after every event in the inbox";
  ASSERT_TRUE(this->accept(event_of("a", "4"), {"k4"}));
  EXPECT_EQ(event_ids(this->pending("a")), (std::vector<std::string>{"2", "3", "1", "4"}));

  this->restart();
  const auto again = this->take("a");
  ASSERT_EQ(event_ids(again), (std::vector<std::string>{"2", "3", "1", "4"}));
  EXPECT_EQ(again[2].event, event);
  EXPECT_EQ(again[2].attempts, 0);
  EXPECT_EQ(again[2].accepted_at, back[0].accepted_at);
  ASSERT_TRUE(run_sync(this->store().inbox_complete(again[2].id, {})));
  EXPECT_EQ(event_ids(this->pending("a")), (std::vector<std::string>{"2", "3", "4"}));
}

TYPED_TEST(StoreContractTest, ADiscardedDeadLetterIsGoneForGood) {
  ASSERT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 2u);
  const std::int64_t first = this->dead_letter(taken[0].id, "gave up");
  const std::int64_t second = this->dead_letter(taken[1].id, "gave up");
  EXPECT_EQ(this->depth("a").dead_letters, 2);

  EXPECT_TRUE(run_sync(this->store().dead_letter_discard(first)).value());
  EXPECT_FALSE(run_sync(this->store().dead_letter_discard(first)).value()) << "none left";
  EXPECT_FALSE(run_sync(this->store().dead_letter_discard(987654)).value());
  EXPECT_FALSE(run_sync(this->store().dead_letter_retry(first)).value());
  EXPECT_EQ(event_ids(this->dead_letters("a")), std::vector<std::string>{"2"});
  EXPECT_EQ(this->depth("a").dead_letters, 1);
  EXPECT_EQ(this->depth("a").inbox, 0);
  this->restart();
  ASSERT_EQ(this->dead_letters("a").size(), 1u);
  EXPECT_EQ(this->dead_letters("a")[0].id, second);
  EXPECT_TRUE(this->take("a").empty());
}

TYPED_TEST(StoreContractTest, AMessageIsQueuedThenSentRetriedOrFailedWithItsAttempts) {
  const auto sent = run_sync(this->store().outbox_push(reply("a", "sent"))).value();
  const auto retried = run_sync(this->store().outbox_push(reply("a", "retried"))).value();
  const auto failed = run_sync(this->store().outbox_push(reply("a", "failed"))).value();
  EXPECT_EQ(this->status(sent).state, OutboxState::queued);
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 3);

  ASSERT_TRUE(run_sync(this->store().outbox_sent(sent, "pm-1")));
  ASSERT_TRUE(run_sync(this->store().outbox_retry(retried, SystemTime::clock::now() + 1h, "502")));
  ASSERT_TRUE(run_sync(this->store().outbox_failed(failed, "rejected")));

  const OutboxStatus s = this->status(sent);
  EXPECT_EQ(s.state, OutboxState::sent);
  EXPECT_EQ(s.platform_message_id, "pm-1");
  EXPECT_EQ(s.attempts, 1);
  const OutboxStatus r = this->status(retried);
  EXPECT_EQ(r.state, OutboxState::queued);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.last_error, "502");
  const OutboxStatus f = this->status(failed);
  EXPECT_EQ(f.state, OutboxState::failed);
  EXPECT_EQ(f.last_error, "rejected");
  EXPECT_TRUE(this->take_out("a").empty()) << "the retry is not due for an hour";
  const auto next = run_sync(this->store().outbox_next_due("a")).value();
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, SystemTime::clock::now() + 59min);
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 1);

  this->restart();
  EXPECT_EQ(this->status(retried).attempts, 1) << "durable";
  ASSERT_TRUE(run_sync(this->store().outbox_retry(retried, SystemTime::clock::now(), "again")));
  const auto waiting = this->take_out("a");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].id, retried);
  EXPECT_EQ(waiting[0].attempts, 2);
  EXPECT_FALSE(run_sync(this->store().outbox_status(987654)).value()) << "an unknown id";
}

TYPED_TEST(StoreContractTest, AClientKeyQueuesAMessageOnceForItsBotWhileQueuedSentAndRestarted) {
  auto push_keyed = [&](std::vector<OutgoingMessage> parts, std::string key) {
    return run_sync(this->store().outbox_push_message(std::move(parts), std::move(key))).value();
  };
  const OutboxPushed first = push_keyed({reply("a", "one"), reply("a", "two")}, "order-17");
  EXPECT_TRUE(first.queued);
  const OutboxPushed again = push_keyed({reply("a", "one"), reply("a", "two")}, "order-17");
  EXPECT_FALSE(again.queued) << "the same key for the same bot while the first is queued";
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 2) << "both parts, once";
  EXPECT_EQ(this->status(first.id).bot, "a");

  const auto taken = this->take_out("a");
  ASSERT_EQ(taken.size(), 2u) << "the parts, in their order";
  EXPECT_EQ(taken[0].id, first.id);
  EXPECT_EQ(taken[0].message, reply("a", "one"));
  EXPECT_EQ(taken[1].message, reply("a", "two"));
  EXPECT_GT(taken[1].id, taken[0].id);

  const OutboxPushed other_bot = push_keyed({reply("b", "one")}, "order-17");
  EXPECT_TRUE(other_bot.queued) << "keys are per bot";
  EXPECT_NE(other_bot.id, first.id);

  ASSERT_TRUE(run_sync(this->store().outbox_sent(taken[0].id, "pm-1")));
  ASSERT_TRUE(run_sync(this->store().outbox_failed(taken[1].id, "rejected")));
  EXPECT_EQ(push_keyed({reply("a", "one")}, "order-17").id, first.id) << "after it was sent";
  this->restart();
  const OutboxPushed after_restart = push_keyed({reply("a", "one")}, "order-17");
  EXPECT_FALSE(after_restart.queued);
  EXPECT_EQ(after_restart.id, first.id);
  EXPECT_TRUE(this->take_out("a").empty()) << "nothing queued by the repeats";
  EXPECT_EQ(this->status(first.id).platform_message_id, "pm-1");
}

TYPED_TEST(StoreContractTest, AMessagesStatusCoversAllOfItsPartsAndWhereItGoes) {
  OutgoingMessage one = reply("a", "one");
  one.reply_context = "ctx-1";
  one.chat_type = ChatType::channel;
  OutgoingMessage two = one;
  two.segments = {Text{"two"}};
  OutgoingMessage three = one;
  three.segments = {Text{"three"}};
  const auto single = this->push(reply("a", "single"));
  const auto id = run_sync(this->store().outbox_push_message({one, two, three}, "")).value().id;
  const auto after = this->push(reply("a", "after"));

  OutboxStatus queued = this->status(id);
  EXPECT_EQ(queued.state, OutboxState::queued);
  EXPECT_EQ(queued.chat_id, "c1");
  EXPECT_EQ(queued.chat_type, ChatType::channel);
  EXPECT_EQ(queued.reply_context, "ctx-1");
  EXPECT_FALSE(queued.recall);
  ASSERT_EQ(queued.parts.size(), 3u);
  EXPECT_EQ(queued.parts[0].id, id);
  EXPECT_LT(queued.parts[1].id, queued.parts[2].id);
  EXPECT_EQ(this->status(single).parts.size(), 1u) << "a message queued whole is one part";
  EXPECT_EQ(this->status(after).parts.size(), 1u) << "a later message is not a part";

  const auto taken = this->take_out("a");
  ASSERT_EQ(taken.size(), 5u);
  ASSERT_TRUE(run_sync(this->store().outbox_sent(queued.parts[0].id, "pm-1")));
  ASSERT_TRUE(run_sync(this->store().outbox_sent(queued.parts[1].id, "pm-2")));
  EXPECT_EQ(this->status(id).state, OutboxState::queued) << "a part still waits";
  ASSERT_TRUE(run_sync(
      this->store().outbox_retry(queued.parts[2].id, SystemTime::clock::now() + 1h, "502")));
  OutboxStatus retrying = this->status(id);
  EXPECT_EQ(retrying.state, OutboxState::queued);
  EXPECT_EQ(retrying.attempts, 1);
  EXPECT_EQ(retrying.last_error, "502") << "the waiting part's";
  EXPECT_EQ(retrying.platform_message_id, "pm-1") << "the first part's";
  ASSERT_TRUE(run_sync(this->store().outbox_sent(queued.parts[2].id, "pm-3")));
  this->restart();
  OutboxStatus sent = this->status(id);
  EXPECT_EQ(sent.state, OutboxState::sent);
  EXPECT_EQ(sent.parts, (std::vector<OutboxPart>{{queued.parts[0].id, OutboxState::sent, "pm-1"},
                                                 {queued.parts[1].id, OutboxState::sent, "pm-2"},
                                                 {queued.parts[2].id, OutboxState::sent, "pm-3"}}));
  EXPECT_EQ(this->status(queued.parts[1].id).parts.size(), 1u) << "a later part answers alone";

  const auto failing =
      run_sync(this->store().outbox_push_message({reply("b", "x"), reply("b", "y")}, "")).value();
  const auto parts = this->take_out("b");
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_TRUE(run_sync(this->store().outbox_failed(parts[0].id, "rejected")));
  ASSERT_TRUE(run_sync(this->store().outbox_sent(parts[1].id, "pm-y")));
  const OutboxStatus failed = this->status(failing.id);
  EXPECT_EQ(failed.state, OutboxState::failed) << "a failed part fails the message";
  EXPECT_EQ(failed.last_error, "rejected");
}

TYPED_TEST(StoreContractTest, ARecallIsQueuedAndReadBackAsARecall) {
  OutgoingMessage recall;
  recall.bot = "a";
  recall.chat_id = "c1";
  recall.chat_type = ChatType::group;
  recall.reply_context = "ctx-9";
  recall.idempotency_key = "recall-1";
  recall.recall = Recall{41, ""};
  OutgoingMessage by_platform_id = recall;
  by_platform_id.idempotency_key = "recall-2";
  by_platform_id.recall = Recall{0, "om_x"};
  const auto first = run_sync(this->store().outbox_push_message({recall}, "")).value().id;
  const auto second = run_sync(this->store().outbox_push_message({by_platform_id}, "")).value().id;
  this->restart();
  const auto taken = this->take_out("a");
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].message, recall);
  EXPECT_EQ(taken[1].message, by_platform_id);
  EXPECT_EQ(this->status(first).recall, (Recall{41, ""}));
  EXPECT_EQ(this->status(second).recall, (Recall{0, "om_x"}));
  EXPECT_EQ(this->status(second).reply_context, "ctx-9");
}

TYPED_TEST(StoreContractTest, WithoutAClientKeyEveryPushQueuesAMessage) {
  const auto plain = this->push(reply("a", "plain"));
  const auto one = run_sync(this->store().outbox_push_message({reply("a", "x")}, "")).value();
  const auto two = run_sync(this->store().outbox_push_message({reply("a", "x")}, "")).value();
  EXPECT_TRUE(one.queued);
  EXPECT_TRUE(two.queued);
  EXPECT_GT(one.id, plain);
  EXPECT_GT(two.id, one.id);
  EXPECT_EQ(this->take_out("a").size(), 3u);
  EXPECT_FALSE(run_sync(this->store().outbox_push_message({}, "k"))) << "no parts";
  EXPECT_FALSE(run_sync(this->store().outbox_push_message({reply("a", "x"), reply("b", "y")}, "k")))
      << "parts of two bots";
  EXPECT_TRUE(this->take_out("b").empty());
}

TYPED_TEST(StoreContractTest, CallsAtOnceWithOneClientKeyQueueOneMessage) {
  constexpr int kCalls = 16;
  asio::io_context io;
  std::vector<std::optional<Result<OutboxPushed>>> results(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    asio::co_spawn(io, this->store().outbox_push_message({reply("a", "once")}, "same-key"),
                   [&results, i](std::exception_ptr e, Result<OutboxPushed> r) {
                     if (!e) results[i] = std::move(r);
                   });
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  int queued = 0;
  std::set<std::int64_t> ids;
  for (const auto& result : results) {
    ASSERT_TRUE(result && *result);
    queued += (*result)->queued ? 1 : 0;
    ids.insert((*result)->id);
  }
  EXPECT_EQ(queued, 1);
  EXPECT_EQ(ids.size(), 1u) << "every call answers the one message's id";
  EXPECT_EQ(this->take_out("a").size(), 1u);
}

TYPED_TEST(StoreContractTest, AReplyCredentialTravelsThroughTheInboxAndTheOutbox) {
  Event event = event_of("a", "1");
  event.reply_credential = "https://example.test/hook?key=SECRET";
  ASSERT_TRUE(this->accept(event, {"k1"}));
  this->restart();
  const auto taken = this->take("a");
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].event.reply_credential, event.reply_credential);
  OutgoingMessage answer = reply("a", "hi");
  answer.in_reply_to(taken[0].event);
  ASSERT_TRUE(run_sync(this->store().inbox_complete(taken[0].id, {answer})));
  const auto at_once = this->take_out("a");
  ASSERT_EQ(at_once.size(), 1u);
  EXPECT_EQ(at_once[0].message.reply_credential, event.reply_credential);
  this->restart();
  const auto waiting = this->take_out("a");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].message.reply_credential, event.reply_credential);
}

std::vector<std::string> texts_of(const std::vector<OutboxItem>& items) {
  std::vector<std::string> texts;
  for (const OutboxItem& item : items) texts.push_back(item.message.plain_text());
  return texts;
}
using Texts = std::vector<std::string>;

TYPED_TEST(StoreContractTest, TakeGivesDueMessagesInQueueOrderOnceEachAndAtMostLimit) {
  for (const char* text : {"a0", "a1", "a2", "a3"}) this->push(reply("a", text));
  this->push(reply("b", "other bot"));
  EXPECT_TRUE(run_sync(this->store().outbox_take("a", SystemTime::clock::now() - 1h, 10, 10))
                  .value()
                  .empty())
      << "queued messages are due from when they were queued, not before";
  EXPECT_EQ(texts_of(this->take_out("a", 3)), (Texts{"a0", "a1", "a2"}));
  EXPECT_EQ(texts_of(this->take_out("a")), Texts{"a3"}) << "the next ones, not those out";
  EXPECT_TRUE(this->take_out("a").empty()) << "each is given once";
  EXPECT_EQ(texts_of(this->take_out("b")), Texts{"other bot"}) << "each bot's own";
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 4) << "taken is queued";
  this->push(reply("a", "a4"));
  EXPECT_EQ(texts_of(this->take_out("a")), Texts{"a4"}) << "what is queued later";
}

TYPED_TEST(StoreContractTest, ARetriedMessageStaysTakenAndARestartGivesBackWhatIsNotEnded) {
  const auto sent = this->push(reply("a", "sent", "c1"));
  const auto retried = this->push(reply("a", "retried", "c2"));
  const auto failed = this->push(reply("a", "failed", "c3"));
  const auto out = this->push(reply("a", "out", "c4"));
  ASSERT_EQ(this->take_out("a").size(), 4u);
  ASSERT_TRUE(run_sync(this->store().outbox_sent(sent, "pm")));
  ASSERT_TRUE(run_sync(this->store().outbox_retry(retried, SystemTime::clock::now(), "502")));
  ASSERT_TRUE(run_sync(this->store().outbox_failed(failed, "400")));
  EXPECT_TRUE(this->take_out("a").empty()) << "a retry is due now, but its taker keeps it";
  EXPECT_FALSE(this->next_due("a")) << "nothing queued is left untaken";

  this->restart();
  const auto again = this->take_out("a");
  ASSERT_EQ(again.size(), 2u) << "what is neither sent nor failed is given again";
  EXPECT_EQ(again[0].id, retried);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[1].id, out);
  EXPECT_EQ(again[1].attempts, 0);
}

TYPED_TEST(StoreContractTest, AStreamsTextEndAndProgressAreKeptWithItAcrossARestart) {
  OutgoingMessage stream = reply("a", "");
  stream.stream = true;
  const auto id = this->push(stream);
  const auto plain = this->push(reply("a", "plain", "c2"));
  EXPECT_EQ(this->status(id).stream, StreamEnd::open) << "a stream answers with its end";
  EXPECT_FALSE(this->status(plain).stream) << "a message that is not a stream does not";
  ASSERT_TRUE(run_sync(this->store().outbox_stream_text(id, "Hello", StreamEnd::open)));
  ASSERT_TRUE(run_sync(this->store().outbox_stream_progress(id, R"({"messages":["m1"]})")));
  ASSERT_TRUE(run_sync(this->store().outbox_stream_text(id, "Hello, world", StreamEnd::open)));

  this->restart();
  const auto taken = this->take_out("a");
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, id);
  EXPECT_TRUE(taken[0].message.stream);
  EXPECT_EQ(taken[0].stream,
            (StreamRecord{"Hello, world", StreamEnd::open, R"({"messages":["m1"]})"}))
      << "the last text and progress written";
  EXPECT_EQ(taken[1].stream, StreamRecord{}) << "nothing for a message that is not a stream";

  // Taken, the stream still takes its end; its place and state do not change.
  ASSERT_TRUE(run_sync(this->store().outbox_stream_text(id, "Hello, world!",
                                                        StreamEnd::cut_short)));
  EXPECT_EQ(this->status(id).stream, StreamEnd::cut_short);
  EXPECT_EQ(this->status(id).state, OutboxState::queued);
  this->restart();
  const auto again = this->take_out("a");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].stream.text, "Hello, world!");
  EXPECT_EQ(again[0].stream.end, StreamEnd::cut_short);

  // Once it ended, writes change nothing, and an unknown id is not an error.
  ASSERT_TRUE(run_sync(this->store().outbox_sent(id, "pm-1")));
  ASSERT_TRUE(run_sync(this->store().outbox_stream_text(id, "late", StreamEnd::finished)));
  ASSERT_TRUE(run_sync(this->store().outbox_stream_progress(987654, "x")));
  EXPECT_EQ(this->status(id).stream, StreamEnd::cut_short);
}

TYPED_TEST(StoreContractTest, ARetryTimeCountsAfterARestartAndHoldsBackItsLaneOnly) {
  const auto first = this->push(reply("a", "x0", "x"));
  this->push(reply("a", "x1", "x"));
  this->push(reply("a", "y0", "y"));
  ASSERT_EQ(texts_of(this->take_out("a", 1)), Texts{"x0"});
  ASSERT_TRUE(
      run_sync(this->store().outbox_retry(first, SystemTime::clock::now() + 1h, "429")));
  this->restart();
  EXPECT_EQ(texts_of(this->take_out("a")), Texts{"y0"})
      << "x0 is not due, and x1 may not overtake it; chat y goes on";
  const auto next = this->next_due("a");
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, SystemTime::clock::now() + 59min)
      << "x0's retry; x1 cannot go before it, so its own time does not count";
  EXPECT_LE(*next, SystemTime::clock::now() + 1h);
  const auto later = run_sync(this->store().outbox_take("a", SystemTime::clock::now() + 2h, 10,
                                                        10))
                         .value();
  EXPECT_EQ(texts_of(later), (Texts{"x0", "x1"})) << "once due, in order";
}

TYPED_TEST(StoreContractTest, AChatsMessagesAreGivenInOrderAtMostLaneLimitOutAtOnce) {
  std::vector<std::int64_t> x;
  for (int i = 0; i < 5; ++i) {
    x.push_back(this->push(reply("a", "x" + std::to_string(i), "x")));
    this->push(reply("a", "y" + std::to_string(i), "y"));
  }
  OutgoingMessage other = reply("a", "private x", "x");
  other.chat_type = ChatType::private_chat;  // another conversation with the same id
  this->push(other);
  EXPECT_EQ(texts_of(this->take_out("a", 100, 2)), (Texts{"x0", "y0", "x1", "y1", "private x"}))
      << "two of each chat, in queue order";
  EXPECT_TRUE(this->take_out("a", 100, 2).empty()) << "each chat has two out";
  EXPECT_TRUE(this->next_due("a").has_value()) << "due, but held back by the lane limit";

  ASSERT_TRUE(run_sync(this->store().outbox_sent(x[0], "pm")));
  EXPECT_EQ(texts_of(this->take_out("a", 100, 2)), Texts{"x2"}) << "one more of chat x";
  ASSERT_TRUE(run_sync(this->store().outbox_retry(x[1], SystemTime::clock::now(), "502")));
  EXPECT_TRUE(this->take_out("a", 100, 2).empty()) << "a retried message is still out";
  ASSERT_TRUE(run_sync(this->store().outbox_failed(x[1], "400")));
  ASSERT_TRUE(run_sync(this->store().outbox_sent(x[2], "pm")));
  EXPECT_EQ(texts_of(this->take_out("a", 1, 2)), Texts{"x3"}) << "the limit counts too";
  EXPECT_EQ(texts_of(this->take_out("a", 100, 2)), Texts{"x4"});
}

TYPED_TEST(StoreContractTest, NextDueIsTheEarliestNextAttemptOfTheMessagesNotTaken) {
  EXPECT_FALSE(this->next_due("a"));
  const auto before = SystemTime::clock::now();
  const auto first = this->push(reply("a", "first", "x"));
  const auto second = this->push(reply("a", "second", "y"));
  const auto pushed = this->next_due("a");
  ASSERT_TRUE(pushed.has_value());
  EXPECT_GE(*pushed, before - 1ms);
  EXPECT_LE(*pushed, SystemTime::clock::now());
  const auto later = SystemTime::clock::now() + 10min;
  ASSERT_TRUE(run_sync(this->store().outbox_retry(first, later, "x")));
  ASSERT_TRUE(run_sync(this->store().outbox_retry(second, later + 5min, "x")));
  auto next = this->next_due("a");
  ASSERT_TRUE(next.has_value());
  EXPECT_LE(std::chrono::abs(*next - later), 1ms) << "kept to the millisecond at least";
  ASSERT_EQ(run_sync(this->store().outbox_take("a", later + 1s, 1, 10)).value().size(), 1u);
  next = this->next_due("a");
  ASSERT_TRUE(next.has_value());
  EXPECT_LE(std::chrono::abs(*next - (later + 5min)), 1ms) << "the taken one does not count";
  ASSERT_TRUE(run_sync(this->store().outbox_sent(second, "pm")));
  EXPECT_FALSE(this->next_due("a")) << "sent messages are not due";
  EXPECT_FALSE(this->next_due("b"));
}

std::vector<LoggedEvent> logged_after(Store& store, std::int64_t after, EventFilter filter = {},
                                      std::size_t limit = 100) {
  return run_sync(store.events_after(after, std::move(filter), limit)).value();
}

std::vector<std::string> event_ids_of(const std::vector<LoggedEvent>& events) {
  std::vector<std::string> ids;
  for (const LoggedEvent& e : events) ids.push_back(event_from_json(e.json).value().platform_event_id);
  return ids;
}

TYPED_TEST(StoreContractTest, AHandledEventIsLoggedWithItsRepliesQueuedAndNeverEntersTheInbox) {
  auto handled = [this](const Event& event, std::vector<std::string> keys,
                        std::vector<OutgoingMessage> replies) {
    return run_sync(this->store().accept_handled(event, std::move(keys), 1h, std::move(replies)));
  };
  if (!this->store().accepts_handled()) {
    // A store without it says so, and stores nothing.
    auto refused = handled(event_of("a", "1"), {"k1"}, {reply("a", "one")});
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().is(errc::invalid_argument));
    EXPECT_TRUE(logged_after(this->store(), 0).empty());
    EXPECT_TRUE(this->take_out("a").empty());
    EXPECT_TRUE(this->accept(event_of("a", "1"), {"k1"})) << "its key was not recorded";
    return;
  }
  OutgoingMessage first = reply("a", "one");
  first.reply_credential = "https://example.test/hook?key=SECRET";
  EXPECT_TRUE(handled(event_of("a", "1"), {"k1"}, {first, reply("a", "two")}).value());
  EXPECT_TRUE(handled(event_of("a", "2"), {"k2"}, {}).value()) << "handled without a reply";
  ASSERT_TRUE(this->accept(event_of("a", "3"), {"k3"}));
  EXPECT_FALSE(handled(event_of("a", "1"), {"k1"}, {reply("a", "again")}).value())
      << "a redelivery of a handled event";
  EXPECT_FALSE(handled(event_of("a", "3"), {"k3"}, {reply("a", "again")}).value())
      << "a redelivery of an event accepted into the inbox";
  EXPECT_FALSE(this->accept(event_of("a", "1"), {"k1"})) << "and the other way round";

  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0)),
            (std::vector<std::string>{"1", "2", "3"}))
      << "logged like any accepted event, duplicates not";
  const auto inbox = this->pending("a");
  ASSERT_EQ(inbox.size(), 1u) << "only the event accepted into the inbox";
  EXPECT_EQ(inbox[0].event.platform_event_id, "3");

  this->restart();
  EXPECT_FALSE(handled(event_of("a", "2"), {"k2"}, {}).value()) << "dedup survives a restart";
  const auto waiting = this->take_out("a");
  ASSERT_EQ(waiting.size(), 2u) << "the replies survive a restart; a duplicate's are dropped";
  EXPECT_EQ(waiting[0].message, first) << "with its reply credential";
  EXPECT_EQ(waiting[1].message, reply("a", "two"));
  EXPECT_LT(waiting[0].id, waiting[1].id);
  EXPECT_EQ(this->depth("a").outbox, 2);
  EXPECT_EQ(this->depth("a").inbox, 1);
}

TYPED_TEST(StoreContractTest, EveryAcceptedEventIsLoggedOnceUnderAGrowingCursor) {
  Event first = event_of("a", "1");
  first.reply_credential = "https://example.test/hook?key=SECRET";
  ASSERT_TRUE(this->accept(first, {"k1"}));
  ASSERT_FALSE(this->accept(event_of("a", "1"), {"k1"})) << "a duplicate";
  ASSERT_TRUE(this->accept(event_of("b", "2", "c2"), {"k2"}));
  ASSERT_TRUE(this->accept(event_of("a", "3"), {"k3"}));
  const auto all = logged_after(this->store(), 0);
  ASSERT_EQ(all.size(), 3u) << "the duplicate is not in the log";
  EXPECT_EQ(event_ids_of(all), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_GT(all[0].cursor, 0);
  EXPECT_LT(all[0].cursor, all[1].cursor);
  EXPECT_LT(all[1].cursor, all[2].cursor);
  EXPECT_EQ(all[1].bot, "b");
  EXPECT_EQ(all[1].platform, "sandbox");
  EXPECT_EQ(all[1].chat, "c2");
  // The JSON the stream sends: the Event JSON, never the reply credential.
  EXPECT_EQ(all[0].json, to_json(event_of("a", "1")));
  EXPECT_EQ(all[0].json.find("SECRET"), std::string::npos);

  EXPECT_EQ(event_ids_of(logged_after(this->store(), all[0].cursor)),
            (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {}, 2)),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(logged_after(this->store(), all[2].cursor).empty());

  // Handling an event does not take it out of the log.
  const auto taken = this->take("a");
  ASSERT_TRUE(run_sync(this->store().inbox_complete(taken[0].id, {})));
  EXPECT_EQ(logged_after(this->store(), 0).size(), 3u);
}

TYPED_TEST(StoreContractTest, TheLogIsFilteredByBotPlatformAndChatExactly) {
  ASSERT_TRUE(this->accept(event_of("a", "1", "c1"), {"k1"}));
  ASSERT_TRUE(this->accept(event_of("b", "2", "c1"), {"k2"}));
  ASSERT_TRUE(this->accept(event_of("a", "3", "c2"), {"k3"}));
  Event other = event_of("ab", "4", "c");
  other.platform = "feishu";
  ASSERT_TRUE(this->accept(other, {"k4"}));
  using Ids = std::vector<std::string>;
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {"a", "", ""})), (Ids{"1", "3"}));
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {"", "", "c1"})), (Ids{"1", "2"}));
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {"a", "sandbox", "c2"})), (Ids{"3"}));
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {"", "feishu", ""})), (Ids{"4"}));
  EXPECT_TRUE(logged_after(this->store(), 0, {"a", "feishu", ""}).empty());
  // A limit counts matching events only.
  EXPECT_EQ(event_ids_of(logged_after(this->store(), 0, {"a", "", ""}, 1)), (Ids{"1"}));
}

TYPED_TEST(StoreContractTest, CursorsKeepGrowingAcrossARestart) {
  ASSERT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  const auto before = logged_after(this->store(), 0);
  this->restart();
  ASSERT_TRUE(this->accept(event_of("a", "3"), {"k3"}));
  const auto after = logged_after(this->store(), 0);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].cursor, before[0].cursor) << "a cursor is durable";
  EXPECT_EQ(after[1].cursor, before[1].cursor);
  EXPECT_GT(after[2].cursor, before[1].cursor);
  EXPECT_EQ(event_ids_of(logged_after(this->store(), before[1].cursor)),
            (std::vector<std::string>{"3"}));
}

TYPED_TEST(StoreContractTest, AWatcherIsToldEachNewEventInCursorOrderAfterItsAccept) {
  ASSERT_TRUE(this->accept(event_of("a", "1"), {"k1"}));
  const auto first = logged_after(this->store(), 0);
  std::mutex mutex;
  std::vector<LoggedEvent> told;
  const std::int64_t head = this->store().watch_events([&](LoggedEvent e) {
    std::lock_guard lock(mutex);
    told.push_back(std::move(e));
  });
  // A store that tells at once has told of the first accept before the watch; a shared one may
  // not have read it yet, and then tells the new listener of it.
  if (this->tells_at_once()) {
    EXPECT_EQ(head, first.back().cursor) << "what came before the watch is the log's";
  } else {
    EXPECT_LE(head, first.back().cursor);
  }
  // Waits until `n` were told (not at all when the store tells before the accept returns).
  const auto told_reaches = [&](std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (told.size() >= n || this->tells_at_once()) return told.size();
      }
      if (std::chrono::steady_clock::now() > deadline) return n - 1;
      std::this_thread::sleep_for(2ms);
    }
  };
  ASSERT_TRUE(this->accept(event_of("a", "2"), {"k2"}));
  ASSERT_FALSE(this->accept(event_of("a", "2"), {"k2"}));
  ASSERT_TRUE(this->accept(event_of("b", "3", "c9"), {"k3"}));
  const auto logged = logged_after(this->store(), head);
  ASSERT_GE(logged.size(), 2u);
  ASSERT_EQ(told_reaches(logged.size()), logged.size());
  {
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < logged.size(); ++i) {
      EXPECT_EQ(told[i].cursor, logged[i].cursor);
      EXPECT_EQ(told[i].json, logged[i].json);
      EXPECT_EQ(told[i].bot, logged[i].bot);
      EXPECT_EQ(told[i].chat, logged[i].chat);
    }
  }
  // Many accepts at once (the SQLite store commits them together): each told once, in order.
  asio::io_context io;
  for (int i = 0; i < 50; ++i) {
    asio::co_spawn(io, this->store().accept(event_of("a", "m" + std::to_string(i)),
                                            {"m" + std::to_string(i)}, 1h),
                   asio::detached);
  }
  io.run();
  const std::size_t all = logged.size() + 50;
  ASSERT_EQ(told_reaches(all), all);
  {
    std::lock_guard lock(mutex);
    for (std::size_t i = 1; i < told.size(); ++i) EXPECT_LT(told[i - 1].cursor, told[i].cursor);
    EXPECT_EQ(told.back().cursor, logged_after(this->store(), 0, {}, 1000).back().cursor);
  }
  EXPECT_EQ(this->store().watch_events(nullptr), told.back().cursor);
  ASSERT_TRUE(this->accept(event_of("a", "4"), {"k4"}));
  std::this_thread::sleep_for(this->tells_at_once() ? 0ms : 100ms);
  std::lock_guard lock(mutex);
  EXPECT_EQ(told.size(), all) << "no longer watched";
}

TYPED_TEST(StoreContractTest, TokensAndSessionsAreKeptByKeyAcrossARestart) {
  const SystemTime expiry = SystemTime::clock::now() + 2h;
  ASSERT_TRUE(run_sync(this->store().token_put("feishu:app", CachedToken{"t-1", expiry})));
  GatewaySession session;
  session.session_id = "s-1";
  session.sequence = 42;
  session.resume_url = "wss://resume.example";
  ASSERT_TRUE(run_sync(this->store().session_put("discord:0", session)));
  this->restart();
  const auto token = run_sync(this->store().token_get("feishu:app")).value();
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->value, "t-1");
  EXPECT_FALSE(run_sync(this->store().token_get("other")).value());
  const auto kept = run_sync(this->store().session_get("discord:0")).value();
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->session_id, "s-1");
  EXPECT_EQ(kept->sequence, 42);
  EXPECT_EQ(kept->resume_url, "wss://resume.example");

  ASSERT_TRUE(run_sync(this->store().token_erase("feishu:app")));
  EXPECT_FALSE(run_sync(this->store().token_get("feishu:app")).value());
  ASSERT_TRUE(run_sync(this->store().session_put("discord:0", GatewaySession{})));
  const auto cleared = run_sync(this->store().session_get("discord:0")).value();
  EXPECT_TRUE(!cleared || cleared->session_id.empty()) << "an empty session id clears it";
}

// Leases: one holder at a time, fencing epochs that grow with each new holder.
TYPED_TEST(StoreContractTest, ALeaseHasOneHolderAtATime) {
  Store& store = this->store();
  const auto a = run_sync(store.lease_acquire("gateway:b:0", "a", 10s)).value();
  ASSERT_TRUE(a.has_value());
  EXPECT_GT(a->epoch, 0);
  EXPECT_FALSE(run_sync(store.lease_acquire("gateway:b:0", "b", 10s)).value())
      << "held by another";
  const auto again = run_sync(store.lease_acquire("gateway:b:0", "a", 10s)).value();
  ASSERT_TRUE(again.has_value()) << "already ours";
  EXPECT_EQ(again->epoch, a->epoch) << "the same holder keeps its epoch";
  EXPECT_TRUE(run_sync(store.lease_acquire("gateway:b:1", "b", 10s)).value())
      << "another name is another lease";

  EXPECT_TRUE(run_sync(store.lease_renew("gateway:b:0", "a", a->epoch, 10s)).value());
  EXPECT_FALSE(run_sync(store.lease_renew("gateway:b:0", "b", a->epoch, 10s)).value())
      << "only the holder renews";
  EXPECT_FALSE(run_sync(store.lease_renew("gateway:b:0", "a", a->epoch + 1, 10s)).value())
      << "only under its epoch";

  ASSERT_TRUE(run_sync(store.lease_release("gateway:b:0", "b", a->epoch)));
  EXPECT_FALSE(run_sync(store.lease_acquire("gateway:b:0", "b", 10s)).value())
      << "a release by another holder changes nothing";
  ASSERT_TRUE(run_sync(store.lease_release("gateway:b:0", "a", a->epoch)));
  const auto b = run_sync(store.lease_acquire("gateway:b:0", "b", 10s)).value();
  ASSERT_TRUE(b.has_value()) << "released: free at once";
  EXPECT_GT(b->epoch, a->epoch);
  EXPECT_FALSE(run_sync(store.lease_renew("gateway:b:0", "a", a->epoch, 10s)).value())
      << "a released lease is lost";
}

TYPED_TEST(StoreContractTest, AnExpiredLeaseIsLostAndGoesToANewEpoch) {
  Store& store = this->store();
  const auto a = run_sync(store.lease_acquire("token:app", "a", 150ms)).value();
  ASSERT_TRUE(a.has_value());
  const auto kept = run_sync(store.lease_acquire("gateway:kept", "a", 400ms)).value();
  ASSERT_TRUE(kept.has_value());
  std::this_thread::sleep_for(250ms);
  EXPECT_TRUE(run_sync(store.lease_renew("gateway:kept", "a", kept->epoch, 400ms)).value());
  std::this_thread::sleep_for(250ms);
  EXPECT_FALSE(run_sync(store.lease_acquire("gateway:kept", "b", 10s)).value())
      << "a renewed lease lasts its new ttl from the renewal";

  EXPECT_FALSE(run_sync(store.lease_renew("token:app", "a", a->epoch, 10s)).value())
      << "expired: renewing fails";
  const auto b = run_sync(store.lease_acquire("token:app", "b", 150ms)).value();
  ASSERT_TRUE(b.has_value()) << "expired: free";
  EXPECT_GT(b->epoch, a->epoch);
  EXPECT_FALSE(run_sync(store.lease_acquire("token:app", "a", 10s)).value());
  std::this_thread::sleep_for(250ms);
  const auto a2 = run_sync(store.lease_acquire("token:app", "a", 10s)).value();
  ASSERT_TRUE(a2.has_value());
  EXPECT_GT(a2->epoch, b->epoch) << "each new holder gets a higher epoch";
  EXPECT_FALSE(run_sync(store.lease_renew("token:app", "b", b->epoch, 10s)).value());
}

// Shared rate limits: at most `limit` uses of a key in any window, a hold refuses every use.
TYPED_TEST(StoreContractTest, PresenceCountsTheMembersOfAGroupUntilTheyLeaveOrExpire) {
  Store& store = this->store();
  EXPECT_EQ(run_sync(store.presence("gateway:x", "a", 10s)).value(), 1u);
  EXPECT_EQ(run_sync(store.presence("gateway:x", "b", 300ms)).value(), 2u);
  EXPECT_EQ(run_sync(store.presence("gateway:x", "a", 10s)).value(), 2u)
      << "a member that says it again counts once";
  EXPECT_EQ(run_sync(store.presence("gateway:y", "c", 10s)).value(), 1u) << "groups are apart";
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(run_sync(store.presence("gateway:x", "a", 10s)).value(), 1u)
      << "b did not say it again within its ttl";
  EXPECT_EQ(run_sync(store.presence("gateway:x", "c", 10s)).value(), 2u);
  EXPECT_EQ(run_sync(store.presence("gateway:x", "a", 0ms)).value(), 1u) << "a left";
  EXPECT_EQ(run_sync(store.presence("gateway:x", "c", 0ms)).value(), 0u);
  EXPECT_EQ(run_sync(store.presence("gateway:x", "c", 0ms)).value(), 0u)
      << "leaving twice is no error";
}

TYPED_TEST(StoreContractTest, AStoreOfOneProcessSharesNoMessageLogAndOneOfSeveralDoes) {
  Store& store = this->store();
  const bool shared = store.watch_log([](LogEntry) {});
  EXPECT_EQ(shared, this->shared());
  LogEntry entry;
  entry.id = "in:e1";
  store.share_log(entry);  // no takers, or some: never an error
  store.watch_log(nullptr);
}

TYPED_TEST(StoreContractTest, ARateLimitGivesItsLimitThenSaysHowLongToWait) {
  Store& store = this->store();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run_sync(store.rate_take("webhook:a", 3, 500ms)).value(), std::nullopt) << i;
  }
  const auto wait = run_sync(store.rate_take("webhook:a", 3, 500ms)).value();
  ASSERT_TRUE(wait.has_value()) << "the fourth use in the window is refused";
  EXPECT_GE(*wait, 1ms);
  EXPECT_LE(*wait, 500ms);
  EXPECT_EQ(run_sync(store.rate_take("webhook:b", 3, 500ms)).value(), std::nullopt)
      << "another key has its own window";
  EXPECT_TRUE(run_sync(store.rate_take("webhook:a", 3, 500ms)).value().has_value())
      << "a refused use took nothing, and the window is still full";
}

TYPED_TEST(StoreContractTest, ARateLimitFreesAsItsUsesLeaveTheWindow) {
  Store& store = this->store();
  ASSERT_EQ(run_sync(store.rate_take("k", 2, 300ms)).value(), std::nullopt);
  std::this_thread::sleep_for(150ms);
  ASSERT_EQ(run_sync(store.rate_take("k", 2, 300ms)).value(), std::nullopt);
  const auto wait = run_sync(store.rate_take("k", 2, 300ms)).value();
  ASSERT_TRUE(wait.has_value());
  EXPECT_LE(*wait, 150ms) << "the first use leaves 300 ms after it was taken";
  std::this_thread::sleep_for(*wait + 20ms);
  EXPECT_EQ(run_sync(store.rate_take("k", 2, 300ms)).value(), std::nullopt)
      << "waiting as long as said frees a use";
  EXPECT_TRUE(run_sync(store.rate_take("k", 2, 300ms)).value().has_value())
      << "only one: the second use is still in the window";
}

TYPED_TEST(StoreContractTest, UsesTakenAtOnceNeverPassTheLimit) {
  Store& store = this->store();
  std::atomic<int> given{0};
  std::vector<std::thread> takers;
  for (int t = 0; t < 4; ++t) {
    takers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!run_sync(store.rate_take("busy", 7, 10s)).value()) ++given;
      }
    });
  }
  for (std::thread& taker : takers) taker.join();
  EXPECT_EQ(given.load(), 7);
}

TYPED_TEST(StoreContractTest, AHeldRateKeyGivesNothingUntilTheHoldEnds) {
  Store& store = this->store();
  ASSERT_TRUE(run_sync(store.rate_hold("global", 300ms)));
  ASSERT_TRUE(run_sync(store.rate_hold("global", 10ms))) << "a shorter hold changes nothing";
  const auto wait = run_sync(store.rate_take("global", 50, 1s)).value();
  ASSERT_TRUE(wait.has_value()) << "held";
  EXPECT_GT(*wait, 200ms);
  EXPECT_LE(*wait, 300ms);
  EXPECT_EQ(run_sync(store.rate_take("other", 50, 1s)).value(), std::nullopt);
  std::this_thread::sleep_for(*wait + 20ms);
  EXPECT_EQ(run_sync(store.rate_take("global", 50, 1s)).value(), std::nullopt)
      << "the hold ended";
}

// The id map (OneBot v11 ids): one number per platform id, the same one every time.
TYPED_TEST(StoreContractTest, MappingAnIdTwiceGivesTheSameNumber) {
  std::vector<IdKey> keys{{IdKind::user, "ou_1"}, {IdKind::group, "oc_1"}};
  auto first = run_sync(this->store().id_numbers("b", keys)).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(first[0], first[1]);
  for (auto number : first) {
    EXPECT_GT(number, 0);
    EXPECT_LE(number, kMaxMappedId);
  }
  auto again = run_sync(this->store().id_numbers("b", keys)).value();
  EXPECT_EQ(again, first);
}

TYPED_TEST(StoreContractTest, TwoIdsNeverShareANumber) {
  std::vector<IdKey> keys;
  for (int i = 0; i < 50; ++i) keys.push_back({IdKind::message, "m" + std::to_string(i)});
  // The same platform id as another kind, and as another bot, is another id.
  keys.push_back({IdKind::user, "m0"});
  keys.push_back({IdKind::group, "m0"});
  auto numbers = run_sync(this->store().id_numbers("b", keys)).value();
  std::vector<IdKey> other{{IdKind::message, "m0"}};
  auto other_bot = run_sync(this->store().id_numbers("b2", other)).value();
  ASSERT_EQ(numbers.size(), keys.size());
  std::set<std::int64_t> distinct(numbers.begin(), numbers.end());
  EXPECT_EQ(distinct.size(), keys.size());
  // Within one call a repeated key is one id.
  std::vector<IdKey> repeated{{IdKind::user, "u9"}, {IdKind::user, "u9"}};
  auto twice = run_sync(this->store().id_numbers("b", repeated)).value();
  EXPECT_EQ(twice[0], twice[1]);
  EXPECT_FALSE(distinct.contains(twice[0]));
  // Whatever numbering a store uses, each number names exactly what it was given for.
  auto entry = run_sync(this->store().id_entry("b2", IdKind::message, other_bot[0])).value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->platform_id, "m0");
}

TYPED_TEST(StoreContractTest, ANumberLooksUpItsIdForItsBotAndKindOnly) {
  std::vector<IdKey> keys{{IdKind::user, "ou_7"}};
  const auto number = run_sync(this->store().id_numbers("b", keys)).value().at(0);
  auto entry = run_sync(this->store().id_entry("b", IdKind::user, number)).value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->platform_id, "ou_7");
  EXPECT_EQ(entry->context, "");
  EXPECT_FALSE(run_sync(this->store().id_entry("b", IdKind::group, number)).value());
  EXPECT_FALSE(run_sync(this->store().id_entry("other", IdKind::user, number)).value());
  EXPECT_FALSE(run_sync(this->store().id_entry("b", IdKind::user, number + 1000)).value());
  EXPECT_FALSE(run_sync(this->store().id_entry("b", IdKind::user, 0)).value());
}

TYPED_TEST(StoreContractTest, AContextIsKeptAndReplacedButNotErased) {
  std::vector<IdKey> with{{IdKind::user, "ou_1", "oc_private_1"}};
  const auto number = run_sync(this->store().id_numbers("b", with)).value().at(0);
  std::vector<IdKey> without{{IdKind::user, "ou_1"}};
  EXPECT_EQ(run_sync(this->store().id_numbers("b", without)).value().at(0), number);
  EXPECT_EQ(run_sync(this->store().id_entry("b", IdKind::user, number)).value()->context,
            "oc_private_1")
      << "a key without context keeps the one kept";
  std::vector<IdKey> replaced{{IdKind::user, "ou_1", "oc_private_2"}};
  EXPECT_EQ(run_sync(this->store().id_numbers("b", replaced)).value().at(0), number);
  EXPECT_EQ(run_sync(this->store().id_entry("b", IdKind::user, number)).value()->context,
            "oc_private_2");
}

TYPED_TEST(StoreContractTest, IdNumbersSurviveARestart) {
  std::vector<IdKey> keys{{IdKind::user, "ou_1"}, {IdKind::message, "om_1", "ev-1"}};
  const auto before = run_sync(this->store().id_numbers("b", keys)).value();
  this->restart();
  std::vector<IdKey> fresh{{IdKind::message, "om_2"}};
  const auto added = run_sync(this->store().id_numbers("b", fresh)).value();
  EXPECT_NE(added[0], before[0]);
  EXPECT_NE(added[0], before[1]);
  EXPECT_EQ(run_sync(this->store().id_numbers("b", keys)).value(), before);
  auto entry = run_sync(this->store().id_entry("b", IdKind::message, before[1])).value();
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->platform_id, "om_1");
  EXPECT_EQ(entry->context, "ev-1");
}

}  // namespace
}  // namespace botgate
