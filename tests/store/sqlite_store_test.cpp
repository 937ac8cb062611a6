#include "botgate/store/sqlite_store.hpp"

#include "botgate/core/event_json.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <sqlite3.h>
#include <unistd.h>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using test::run_sync;
namespace fs = std::filesystem;

/// A database file in the temp directory, removed (with its WAL files) at the end.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("botgate-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
             "-" + info->name() + ".db");
    remove_files();
    store_ = std::make_unique<SqliteStore>(path_.string());
  }
  void TearDown() override {
    store_.reset();
    remove_files();
  }
  void remove_files() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-key"}) {
      fs::remove(path_.string() + suffix, ignored);
    }
  }
  void reopen() {
    store_.reset();
    store_ = std::make_unique<SqliteStore>(path_.string());
  }
  void reopen_with(SqliteStoreOptions options) {
    store_.reset();
    store_ = std::make_unique<SqliteStore>(path_.string(), options);
  }
  /// Waits (up to 5 s) until `done()` holds.
  template <class Done>
  static bool eventually(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  /// Opens the store so that execute_sql's second connection can reach the file.
  void share_file() {
    store_.reset();
    store_ = std::make_unique<SqliteStore>(path_.string(), SqliteStoreOptions{.shared_file = true});
  }

  /// On a shared file with event "1" in the inbox and one message queued: accepts event "slow"
  /// (kSlowInsert makes its round last about a second) and, 200 ms later while that round runs,
  /// submits what the next round then holds: an accept of `event_id`, the completion of event
  /// "1" with one reply, and the queued message sent. `trigger`: more SQL run before the rounds.
  struct MixedRound run_slow_then_mixed_round(const std::string& event_id,
                                              const char* trigger = nullptr);

  bool accept(const Event& event, std::vector<std::string> keys, std::chrono::seconds ttl = 1h) {
    return run_sync(store_->accept(event, std::move(keys), ttl)).value();
  }
  std::vector<InboxItem> pending(const std::string& bot, std::size_t limit = 100) {
    return run_sync(store_->inbox_pending(bot, limit)).value();
  }
  std::vector<InboxItem> take(const std::string& bot, std::size_t limit = 100) {
    return run_sync(store_->inbox_take(bot, limit)).value();
  }
  static std::vector<std::int64_t> ids_of(const std::vector<InboxItem>& items) {
    std::vector<std::int64_t> ids;
    for (const InboxItem& item : items) ids.push_back(item.id);
    return ids;
  }
  /// Takes what is due (outbox_take, 100 at most of a chat).
  std::vector<OutboxItem> due(const std::string& bot, SystemTime now = SystemTime::clock::now(),
                              std::size_t limit = 100) {
    return run_sync(store_->outbox_take(bot, now, limit, 100)).value();
  }
  std::int64_t push(const OutgoingMessage& message) {
    return run_sync(store_->outbox_push(message)).value();
  }
  std::optional<OutboxStatus> status(std::int64_t id) {
    return run_sync(store_->outbox_status(id)).value();
  }
  /// Runs `sql` on a second connection to the database file (to inject failures by trigger);
  /// while the store is open, only after share_file().
  void execute_sql(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.string().c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
  }

  fs::path path_;
  std::unique_ptr<SqliteStore> store_;
};

Event event_for(const std::string& bot, const std::string& platform_event_id,
                const std::string& text = "hi") {
  Event event;
  event.id = "id-" + platform_event_id;
  event.platform = "feishu";
  event.bot = bot;
  event.platform_event_id = platform_event_id;
  event.time = SystemTime(std::chrono::milliseconds(1'795'867'200'123));
  event.chat = Chat{"oc_1", ChatType::group, std::string("g")};
  event.sender = User{"ou_1", "Ann", false};
  event.message = Message{"om_" + platform_event_id, text, true,
                          {Text{text}, Mention{"ou_bot", "bot"}, Link{"l", "https://x"}}};
  event.reply_context = "ctx";
  return event;
}

OutgoingMessage message_for(const std::string& bot, const std::string& text) {
  OutgoingMessage message = OutgoingMessage::plain(text);
  message.bot = bot;
  message.chat_id = "oc_1";
  message.chat_type = ChatType::group;
  message.reply_to = "om_1";
  message.idempotency_key = "key-" + text;
  return message;
}

TEST_F(SqliteStoreTest, AcceptsANewEventIntoTheInbox) {
  const Event event = event_for("a", "ev1");
  EXPECT_TRUE(accept(event, {"e:a:ev1", "m:a:om_ev1"}));
  const auto items = pending("a");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_GT(items[0].id, 0);
  EXPECT_EQ(items[0].event, event) << "the whole event survives the inbox";
}

TEST_F(SqliteStoreTest, ItsUpkeepIsCountedAndTimedByKindFromWhenItOpened) {
  const auto checkpoints = [&] {
    for (const StoreUpkeep& kind : store_->upkeep()) {
      if (kind.kind == "checkpoint") return kind;
    }
    ADD_FAILURE() << "no checkpoint figures";
    return StoreUpkeep{};
  };
  std::vector<std::string> kinds;
  for (const StoreUpkeep& kind : store_->upkeep()) kinds.push_back(kind.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"checkpoint", "dedup_merge", "outbox_purge",
                                             "event_purge"}));
  EXPECT_EQ(checkpoints().runs, 0u);
  // Events of 2 KiB, one commit each, until the WAL has had its first checkpoint (every ~1,000
  // pages written).
  const std::string text(2048, 'x');
  for (int i = 0; i < 5000 && checkpoints().runs == 0; ++i) {
    ASSERT_TRUE(accept(event_for("a", "ev" + std::to_string(i), text), {"e:" + std::to_string(i)}));
  }
  const StoreUpkeep figures = checkpoints();
  EXPECT_GE(figures.runs, 1u);
  EXPECT_GT(figures.longest.count(), 0);
  EXPECT_GE(figures.total, figures.longest);
}

TEST_F(SqliteStoreTest, RejectsADuplicateOnAnyKey) {
  EXPECT_TRUE(accept(event_for("a", "ev1"), {"e:a:ev1", "m:a:om_1"}));
  EXPECT_FALSE(accept(event_for("a", "ev1"), {"e:a:ev1", "m:a:om_1"}));
  // A new delivery id for a message already seen.
  EXPECT_FALSE(accept(event_for("a", "ev2"), {"e:a:ev2", "m:a:om_1"}));
  EXPECT_EQ(pending("a").size(), 1u);
  // The rejected delivery left none of its keys behind: ev2 with another message is new.
  EXPECT_TRUE(accept(event_for("a", "ev2"), {"e:a:ev2", "m:a:om_2"}));
  EXPECT_EQ(pending("a").size(), 2u);
}

TEST_F(SqliteStoreTest, ConcurrentAcceptsAreCommittedTogetherAndDedupWithinABatch) {
  // Many callbacks at once from several threads: they share transactions (group commit), and
  // two deliveries of one event in the same batch still give exactly one inbox item.
  asio::io_context io;
  constexpr int kEvents = 300;
  std::atomic<int> accepted{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kEvents; ++i) {
    for (int copy = 0; copy < 2; ++copy) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        const std::string id = "ev" + std::to_string(i);
        std::vector<std::string> keys{"e:a:" + id};
        auto result = co_await store_->accept(event_for("a", id), std::move(keys), 1h);
        if (!result) {
          ++failed;
        } else if (*result) {
          ++accepted;
        } else {
          ++duplicates;
        }
      }, asio::detached);
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(accepted, kEvents);
  EXPECT_EQ(duplicates, kEvents);
  EXPECT_EQ(pending("a", 1000).size(), static_cast<std::size_t>(kEvents));
  reopen();
  EXPECT_EQ(pending("a", 1000).size(), static_cast<std::size_t>(kEvents)) << "committed";
}

TEST_F(SqliteStoreTest, AnExpiredKeyIsAcceptedAgain) {
  // A ttl of 0 s expires at once.
  EXPECT_TRUE(accept(event_for("a", "ev1"), {"e:a:ev1"}, 0s));
  EXPECT_TRUE(accept(event_for("a", "ev1"), {"e:a:ev1"}, 1h));
  EXPECT_FALSE(accept(event_for("a", "ev1"), {"e:a:ev1"}, 1h));
  EXPECT_EQ(pending("a").size(), 2u);
}

TEST_F(SqliteStoreTest, AcceptWithoutKeysAlwaysStores) {
  EXPECT_TRUE(accept(event_for("a", "ev1"), {}));
  EXPECT_TRUE(accept(event_for("a", "ev1"), {}));
  EXPECT_EQ(pending("a").size(), 2u);
}

TEST_F(SqliteStoreTest, InboxPendingIsOldestFirstPerBotAndLimited) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  EXPECT_TRUE(accept(event_for("b", "2"), {"2"}));
  EXPECT_TRUE(accept(event_for("a", "3"), {"3"}));
  EXPECT_TRUE(accept(event_for("a", "4"), {"4"}));

  const auto a = pending("a");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].event.platform_event_id, "1");
  EXPECT_EQ(a[1].event.platform_event_id, "3");
  EXPECT_EQ(a[2].event.platform_event_id, "4");
  EXPECT_LT(a[0].id, a[1].id);
  EXPECT_LT(a[1].id, a[2].id);

  const auto b = pending("b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].event.platform_event_id, "2");

  const auto limited = pending("a", 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1].event.platform_event_id, "3");
  EXPECT_TRUE(pending("nobody").empty());
}

TEST_F(SqliteStoreTest, InboxReadFromMemoryMatchesTheTable) {
  share_file();
  // The first read finds the inbox whole and starts the store's copy in memory; what is
  // accepted after it is then read from the copy. It must be what the table holds.
  EXPECT_TRUE(accept(event_for("a", "1", "first"), {"1"}));
  ASSERT_EQ(pending("a").size(), 1u);
  EXPECT_TRUE(accept(event_for("a", "2", "second"), {"2"}));
  EXPECT_FALSE(accept(event_for("a", "2", "again"), {"2"})) << "a duplicate is not copied";
  execute_sql(
      "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox "
      "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  EXPECT_FALSE(run_sync(store_->accept(event_for("a", "3"), {"3"}, 1h)));
  execute_sql("DROP TRIGGER refuse_inbox;");
  EXPECT_TRUE(accept(event_for("b", "4"), {"4"}));
  const auto from_memory = pending("a");
  ASSERT_EQ(from_memory.size(), 2u);
  ASSERT_TRUE(run_sync(store_->inbox_complete(from_memory[0].id, {})));

  reopen();
  const auto from_table = pending("a");
  ASSERT_EQ(from_table.size(), 1u);
  EXPECT_EQ(from_table[0].id, from_memory[1].id);
  EXPECT_EQ(from_table[0].event, from_memory[1].event);
  EXPECT_EQ(from_table[0].event, event_for("a", "2", "second"));
}

TEST_F(SqliteStoreTest, ATakenEventIsGivenOutOnceUntilCompletedOrTheStoreIsOpenedAgain) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(accept(event_for("a", std::to_string(i)), {std::to_string(i)}));
  }
  ASSERT_TRUE(accept(event_for("b", "other"), {"other"}));
  const auto first = take("a", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].event, event_for("a", "0"));
  const auto second = take("a", 10);
  ASSERT_EQ(second.size(), 3u) << "the next ones, not those in hand";
  EXPECT_EQ(second[0].event, event_for("a", "2"));
  EXPECT_TRUE(take("a").empty());
  EXPECT_EQ(pending("a").size(), 5u) << "the view still shows every event not completed";
  ASSERT_EQ(take("b").size(), 1u) << "each bot's own";
  ASSERT_TRUE(run_sync(store_->inbox_complete(first[0].id, {})));
  ASSERT_TRUE(accept(event_for("a", "5"), {"5"}));
  EXPECT_EQ(ids_of(take("a")).size(), 1u) << "only the new one";

  reopen();  // a crash: whatever was not completed is given out again, in order
  const auto again = take("a");
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].event, event_for("a", "1"));
  EXPECT_EQ(again[4].event, event_for("a", "5"));
}

TEST_F(SqliteStoreTest, TakesFromTheTableSkipWhatIsInHandAsTheCopyDoes) {
  // 1,500 events: more than a take reads, so the first takes read the table, later ones the
  // copy in memory once it holds the whole inbox.
  constexpr int kEvents = 1500;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(accept(event_for("a", std::to_string(i)), {std::to_string(i)}));
  }
  reopen();  // no copy in memory yet
  std::vector<std::int64_t> seen;
  for (int round = 0; round < 20 && seen.size() < kEvents; ++round) {
    const auto items = take("a", 256);
    for (const InboxItem& item : items) seen.push_back(item.id);
    // Complete every other take, so that what is in hand is both old and new.
    if (round % 2 == 1) {
      std::vector<InboxCompletion> done;
      for (const InboxItem& item : items) done.push_back(InboxCompletion{item.id, {}});
      ASSERT_TRUE(run_sync(store_->inbox_complete(std::move(done))));
    }
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kEvents));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "oldest first";
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "none twice";
  EXPECT_TRUE(take("a").empty());
}

TEST_F(SqliteStoreTest, ABacklogLargerThanTheCopyIsHandledInOrderOnce) {
  ASSERT_TRUE(pending("a").empty());  // the copy in memory starts
  constexpr int kEvents = 1500;       // more than the copy holds
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(accept(event_for("a", std::to_string(i)), {std::to_string(i)}));
  }
  int next = 0;
  for (int rounds = 0; rounds < 100; ++rounds) {
    const auto items = pending("a", 64);
    if (items.empty()) break;
    std::vector<InboxCompletion> done;
    for (const auto& item : items) {
      EXPECT_EQ(item.event.platform_event_id, std::to_string(next++));
      done.push_back(InboxCompletion{item.id, {}});
    }
    ASSERT_TRUE(run_sync(store_->inbox_complete(std::move(done))));
    if (rounds == 3) {
      // New events while the backlog drains go behind it.
      ASSERT_TRUE(accept(event_for("a", std::to_string(kEvents)), {"late"}));
    }
  }
  EXPECT_EQ(next, kEvents + 1);
}

TEST_F(SqliteStoreTest, InboxCompleteMovesRepliesToTheOutbox) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  EXPECT_TRUE(accept(event_for("a", "2"), {"2"}));
  const auto items = pending("a");
  ASSERT_EQ(items.size(), 2u);

  std::vector<OutgoingMessage> replies{message_for("a", "one"), message_for("a", "two")};
  ASSERT_TRUE(run_sync(store_->inbox_complete(items[0].id, replies)));

  const auto left = pending("a");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, items[1].id);
  const auto queued = due("a");
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0].message, replies[0]);
  EXPECT_EQ(queued[1].message, replies[1]);
  EXPECT_EQ(queued[0].attempts, 0);

  // No replies: the item just leaves the inbox.
  ASSERT_TRUE(run_sync(store_->inbox_complete(items[1].id, {})));
  EXPECT_TRUE(pending("a").empty());
  EXPECT_EQ(run_sync(store_->queue_depth("a")).value().outbox, 2);
}

TEST_F(SqliteStoreTest, InboxCompleteIsAtomic) {
  share_file();
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  const auto items = pending("a");
  ASSERT_EQ(items.size(), 1u);
  // The second reply is refused by the database: the first reply and the removal from the
  // inbox must roll back with it.
  execute_sql(
      "CREATE TRIGGER refuse_poison BEFORE INSERT ON outbox WHEN NEW.message LIKE '%poison%' "
      "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
  std::vector<OutgoingMessage> replies{message_for("a", "fine"), message_for("a", "poison")};
  auto done = run_sync(store_->inbox_complete(items[0].id, replies));
  ASSERT_FALSE(done);
  EXPECT_TRUE(done.error().is(errc::store_failed));
  EXPECT_EQ(pending("a").size(), 1u);
  EXPECT_TRUE(due("a").empty());

  // The store is usable after the rollback, and the retried completion goes through whole.
  execute_sql("DROP TRIGGER refuse_poison;");
  replies[1] = message_for("a", "cured");
  ASSERT_TRUE(run_sync(store_->inbox_complete(items[0].id, replies)));
  EXPECT_TRUE(pending("a").empty());
  EXPECT_EQ(due("a").size(), 2u);
}

TEST_F(SqliteStoreTest, AcceptIsAtomic) {
  share_file();
  // Dedup keys and the inbox row are written in one transaction: when the inbox insert fails,
  // the keys are not remembered, so the platform's redelivery is accepted.
  execute_sql(
      "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox "
      "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  auto failed = run_sync(store_->accept(event_for("a", "1"), {"e:a:1", "m:a:1"}, 1h));
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().is(errc::store_failed));
  execute_sql("DROP TRIGGER refuse_inbox;");
  EXPECT_TRUE(accept(event_for("a", "1"), {"e:a:1", "m:a:1"}));
  EXPECT_EQ(pending("a").size(), 1u);
}

TEST_F(SqliteStoreTest, MovingAnEventToTheDeadLettersAndBackIsAtomic) {
  share_file();
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  EXPECT_TRUE(accept(event_for("a", "2"), {"2"}));
  const auto taken = take("a");
  ASSERT_EQ(taken.size(), 2u);
  ASSERT_TRUE(run_sync(store_->inbox_retry(taken[0].id, "502")));
  // The removal from the inbox is refused: the dead letter written before it rolls back.
  execute_sql("CREATE TRIGGER refuse_delete BEFORE DELETE ON inbox "
              "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
  auto failed = run_sync(store_->inbox_dead_letter(taken[0].id, "gave up"));
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().is(errc::store_failed));
  execute_sql("DROP TRIGGER refuse_delete;");
  EXPECT_TRUE(run_sync(store_->dead_letters("", 0, 10)).value().empty());
  auto view = pending("a");
  ASSERT_EQ(view.size(), 2u) << "still in the inbox";
  EXPECT_EQ(view[0].attempts, 1);
  EXPECT_TRUE(take("a").empty()) << "and still taken";

  const std::int64_t dead = run_sync(store_->inbox_dead_letter(taken[0].id, "gave up")).value();
  // The way back: the removal from the dead letters is refused, the new inbox row rolls back.
  execute_sql("CREATE TRIGGER refuse_delete BEFORE DELETE ON dead_letters "
              "BEGIN SELECT RAISE(ABORT, 'refused'); END;");
  auto refused = run_sync(store_->dead_letter_retry(dead));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::store_failed));
  execute_sql("DROP TRIGGER refuse_delete;");
  EXPECT_EQ(ids_of(pending("a")), std::vector<std::int64_t>{taken[1].id});
  ASSERT_EQ(run_sync(store_->dead_letters("a", 0, 10)).value().size(), 1u);

  ASSERT_EQ(run_sync(store_->dead_letter_retry(dead)).value(), std::optional<std::string>("a"));
  reopen();  // the table, not the copy in memory
  const auto inbox = pending("a");
  ASSERT_EQ(inbox.size(), 2u);
  EXPECT_EQ(inbox[1].event, event_for("a", "1"));
  EXPECT_EQ(inbox[1].attempts, 0);
}

TEST_F(SqliteStoreTest, TheInboxCopyAndTheTableAgreeOnAttemptsAndRetriedDeadLetters) {
  // Event 3, the newest row, becomes a dead letter; its id is free again for the next insert.
  // A retried dead letter must still land after every event, in the copy as in the table.
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  ASSERT_EQ(pending("a").size(), 1u);  // the copy in memory starts
  EXPECT_TRUE(accept(event_for("a", "2"), {"2"}));
  EXPECT_TRUE(accept(event_for("a", "3"), {"3"}));
  const auto taken = take("a");
  ASSERT_EQ(taken.size(), 3u);
  ASSERT_TRUE(run_sync(store_->inbox_retry(taken[1].id, "timeout")));
  const std::int64_t dead = run_sync(store_->inbox_dead_letter(taken[2].id, "gave up")).value();
  ASSERT_TRUE(run_sync(store_->dead_letter_retry(dead)).value());
  EXPECT_TRUE(accept(event_for("a", "4"), {"4"}));
  const auto from_memory = pending("a");

  reopen();
  const auto from_table = pending("a");
  ASSERT_EQ(from_table.size(), 4u);
  ASSERT_EQ(from_memory.size(), 4u);
  for (std::size_t i = 0; i < from_table.size(); ++i) {
    EXPECT_EQ(from_memory[i].id, from_table[i].id) << i;
    EXPECT_EQ(from_memory[i].event, from_table[i].event) << i;
    EXPECT_EQ(from_memory[i].attempts, from_table[i].attempts) << i;
    EXPECT_EQ(from_memory[i].accepted_at, from_table[i].accepted_at) << i;
  }
  EXPECT_EQ(from_table[1].attempts, 1);
  EXPECT_EQ(from_table[2].event.platform_event_id, "3");
  EXPECT_EQ(from_table[3].event.platform_event_id, "4");
}

TEST_F(SqliteStoreTest, AnOlderDatabaseGetsAttemptsAndDeadLetters) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  const auto before = pending("a");
  ASSERT_EQ(before.size(), 1u);
  store_.reset();
  // As a database was before failed attempts were counted.
  execute_sql("DROP INDEX dead_letters_by_bot; DROP TABLE dead_letters; "
              "ALTER TABLE inbox DROP COLUMN attempts; ALTER TABLE inbox DROP COLUMN last_error;");

  reopen();
  const auto inbox = take("a");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].attempts, 0);
  EXPECT_EQ(inbox[0].accepted_at, before[0].accepted_at);
  EXPECT_EQ(inbox[0].event, event_for("a", "1"));
  ASSERT_TRUE(run_sync(store_->inbox_retry(inbox[0].id, "502")));
  const std::int64_t dead = run_sync(store_->inbox_dead_letter(inbox[0].id, "gave up")).value();
  reopen();
  const auto letters = run_sync(store_->dead_letters("a", 0, 10)).value();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].id, dead);
  EXPECT_EQ(letters[0].attempts, 2);
  EXPECT_EQ(letters[0].accepted_at, before[0].accepted_at);
}

TEST_F(SqliteStoreTest, OutboxTakeRespectsNextAtAlsoAsReadFromTheTableAtOpen) {
  const std::int64_t first = push(message_for("a", "first"));
  const std::int64_t second = push(message_for("a", "second"));
  push(message_for("b", "other bot"));
  EXPECT_LT(first, second);
  // Pushed messages are due now, not before they were pushed.
  EXPECT_TRUE(due("a", SystemTime::clock::now() - 1h).empty());
  auto items = due("a", SystemTime::clock::now(), 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, first);

  const auto later = SystemTime::clock::now() + 10min;
  ASSERT_TRUE(run_sync(store_->outbox_retry(first, later, "platform_unavailable: 502")));
  items = due("a");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, second);

  reopen();  // the queue as the table has it: first waits until later, second behind it
  EXPECT_TRUE(due("a").empty());
  items = due("a", later);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, first);
  EXPECT_EQ(items[0].attempts, 1);
  EXPECT_EQ(items[0].message, message_for("a", "first"));
  EXPECT_EQ(items[1].id, second);
  EXPECT_EQ(due("b").size(), 1u);
}

TEST_F(SqliteStoreTest, QueueDepthCountsUnhandledEventsAndUnsentMessagesPerBot) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  EXPECT_TRUE(accept(event_for("a", "2"), {"2"}));
  EXPECT_TRUE(accept(event_for("b", "3"), {"3"}));
  const std::int64_t sent = push(message_for("a", "x"));
  push(message_for("a", "y"));
  const std::int64_t failed = push(message_for("a", "z"));
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "p1")));
  ASSERT_TRUE(run_sync(store_->outbox_failed(failed, "refused")));
  auto a = run_sync(store_->queue_depth("a")).value();
  EXPECT_EQ(a.inbox, 2);
  EXPECT_EQ(a.outbox, 1) << "sent and failed messages do not wait";
  auto b = run_sync(store_->queue_depth("b")).value();
  EXPECT_EQ(b.inbox, 1);
  EXPECT_EQ(b.outbox, 0);
  const auto pending = run_sync(store_->inbox_pending("a", 10)).value();
  ASSERT_TRUE(run_sync(store_->inbox_complete(pending[0].id, {})));
  EXPECT_EQ(run_sync(store_->queue_depth("a")).value().inbox, 1);
}

TEST_F(SqliteStoreTest, OutboxNextDue) {
  EXPECT_FALSE(run_sync(store_->outbox_next_due("a")).value());
  const std::int64_t first = push(message_for("a", "first"));
  const auto pushed_at = run_sync(store_->outbox_next_due("a")).value();
  ASSERT_TRUE(pushed_at);
  EXPECT_LE(*pushed_at, SystemTime::clock::now());

  const auto later = SystemTime::clock::now() + 10min;
  ASSERT_TRUE(run_sync(store_->outbox_retry(first, later, "x")));
  const auto next = run_sync(store_->outbox_next_due("a")).value();
  ASSERT_TRUE(next);
  // Stored in milliseconds.
  EXPECT_LE(std::chrono::abs(*next - later), 1ms);

  ASSERT_TRUE(run_sync(store_->outbox_sent(first, "p1")));
  EXPECT_FALSE(run_sync(store_->outbox_next_due("a")).value()) << "sent messages are not due";
  EXPECT_FALSE(run_sync(store_->outbox_next_due("b")).value());
}

TEST_F(SqliteStoreTest, OutboxStatusFollowsRetrySentAndFailed) {
  const std::int64_t a = push(message_for("a", "a"));
  const std::int64_t b = push(message_for("a", "b"));

  auto s = status(a);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, OutboxState::queued);
  EXPECT_EQ(s->attempts, 0);
  EXPECT_TRUE(s->last_error.empty());

  ASSERT_TRUE(run_sync(store_->outbox_retry(a, SystemTime::clock::now(), "timeout")));
  s = status(a);
  EXPECT_EQ(s->state, OutboxState::queued);
  EXPECT_EQ(s->attempts, 1);
  EXPECT_EQ(s->last_error, "timeout");

  ASSERT_TRUE(run_sync(store_->outbox_sent(a, "om_sent")));
  s = status(a);
  EXPECT_EQ(s->state, OutboxState::sent);
  EXPECT_EQ(s->attempts, 2);
  EXPECT_EQ(s->platform_message_id, "om_sent");
  EXPECT_TRUE(s->last_error.empty());

  ASSERT_TRUE(run_sync(store_->outbox_failed(b, "platform_rejected: 230002")));
  s = status(b);
  EXPECT_EQ(s->state, OutboxState::failed);
  EXPECT_EQ(s->attempts, 1);
  EXPECT_EQ(s->last_error, "platform_rejected: 230002");

  EXPECT_TRUE(due("a").empty()) << "neither sent nor failed messages are due";
  EXPECT_FALSE(status(b + 100));
}

TEST_F(SqliteStoreTest, RepliesAreTakenWithoutAReadAndABacklogPastTheCopyFromTheTable) {
  auto in_chat = [](int chat, const std::string& text) {
    OutgoingMessage message = message_for("a", text);
    message.chat_id = "oc_" + std::to_string(chat);
    return message;
  };
  // Replies queued by completions and messages pushed are kept whole in memory (up to 8,192):
  // taking them reads nothing back from the table.
  ASSERT_TRUE(accept(event_for("a", "1"), {"1"}));
  const auto items = take("a");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(run_sync(store_->inbox_complete(items[0].id, {in_chat(0, "r0"), in_chat(1, "r1")})));
  push(in_chat(0, "p0"));
  auto taken = due("a");
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].message, in_chat(0, "r0"));
  EXPECT_EQ(taken[2].message, in_chat(0, "p0"));
  EXPECT_EQ(store_->outbox_rows_read(), 0u);

  // A backlog of 10,000 (a platform down): the first 8,192 stay whole in memory, the rest are
  // read from the table when taken; each once, every chat in order.
  constexpr int kBacklog = 10'000;
  constexpr int kChats = 7;
  for (int i = 0; i < kBacklog; ++i) push(in_chat(i % kChats, std::to_string(i)));
  std::vector<int> got;
  for (int round = 0; round < 1000; ++round) {
    auto page = run_sync(store_->outbox_take("a", SystemTime::clock::now(), 256, 64)).value();
    if (page.empty()) break;
    // Sent together, as the outbox worker's lanes do (an update waits for others to share its
    // commit).
    asio::io_context io;
    int recorded = 0;
    for (const OutboxItem& item : page) {
      got.push_back(std::stoi(item.message.plain_text()));
      asio::co_spawn(io, [&, id = item.id]() -> asio::awaitable<void> {
        if (co_await store_->outbox_sent(id, "pm")) ++recorded;
      }, asio::detached);
    }
    io.run();
    ASSERT_EQ(recorded, static_cast<int>(page.size()));
  }
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kBacklog));
  std::vector<int> last(kChats, -1);
  for (const int n : got) {
    EXPECT_GT(n, last[n % kChats]) << "chat " << n % kChats << " in order";
    last[n % kChats] = n;
  }
  EXPECT_EQ(store_->outbox_rows_read(), static_cast<std::uint64_t>(kBacklog - 8192));
  EXPECT_EQ(run_sync(store_->queue_depth("a")).value().outbox, 3) << "the first three";
}

/// While the database thread runs a round that includes event `slow` (a trigger makes its
/// insert take about a second), whatever is submitted queues up for the next round: the tests
/// below submit the slow event, wait a fifth of that, and submit what the next round holds.
constexpr const char* kSlowInsert =
    "CREATE TRIGGER slow_insert BEFORE INSERT ON inbox WHEN NEW.event LIKE '%\"slow\"%' BEGIN "
    "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 2000000) SELECT x FROM c); END;";

/// What the callers of a round got (see run_slow_then_mixed_round).
struct MixedRound {
  std::optional<Result<bool>> slow, accepted;
  std::optional<Result<void>> completed;
  std::optional<Result<void>> sent;
  std::int64_t message = 0;          // the outbox message the round marks sent
  std::uint64_t commits_before = 0;  // store_->commits() when the slow round began
};

struct MixedRound SqliteStoreTest::run_slow_then_mixed_round(const std::string& event_id,
                                                            const char* trigger) {
  share_file();
  MixedRound round;
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  const auto items = pending("a");
  EXPECT_EQ(items.size(), 1u);
  if (items.empty()) return round;
  const std::int64_t inbox_id = items[0].id;
  round.message = push(message_for("a", "earlier reply"));
  const std::int64_t message = round.message;
  execute_sql(kSlowInsert);
  if (trigger != nullptr) execute_sql(trigger);
  round.commits_before = store_->commits();

  asio::io_context io;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::vector<std::string> keys{"slow"};
    round.slow = co_await store_->accept(event_for("a", "slow"), std::move(keys), 1h);
  }, asio::detached);
  asio::steady_timer later(io, 200ms);
  later.async_wait([&](boost::system::error_code) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      std::vector<std::string> keys{event_id};
      round.accepted = co_await store_->accept(event_for("a", event_id), std::move(keys), 1h);
    }, asio::detached);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      std::vector<InboxCompletion> done;
      done.push_back(InboxCompletion{inbox_id, {message_for("a", "reply")}});
      round.completed = co_await store_->inbox_complete(std::move(done));
    }, asio::detached);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      round.sent = co_await store_->outbox_sent(message, "p1");
    }, asio::detached);
  });
  io.run();
  return round;
}

TEST_F(SqliteStoreTest, AcceptsCompletionsAndOutboxUpdatesQueuedTogetherShareOneCommit) {
  const MixedRound round = run_slow_then_mixed_round("2");
  const std::int64_t message = round.message;

  ASSERT_TRUE(round.slow && round.accepted && round.completed && round.sent);
  EXPECT_TRUE(round.slow->value());
  EXPECT_TRUE(round.accepted->value());
  ASSERT_TRUE(*round.completed);
  const auto replies = due("a");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].message, message_for("a", "reply"));
  EXPECT_EQ(status(replies[0].id)->state, OutboxState::queued);
  EXPECT_TRUE(*round.sent);
  EXPECT_EQ(status(message)->state, OutboxState::sent);
  const auto left = pending("a");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].event.platform_event_id, "slow");
  EXPECT_EQ(left[1].event.platform_event_id, "2");
  // The slow round, then everything else in one; one commit per kind would be four.
  EXPECT_EQ(store_->commits() - round.commits_before, 2u);
}

TEST_F(SqliteStoreTest, AFailedWriteInAMixedRoundFailsOnlyItsOwnCaller) {
  const MixedRound round = run_slow_then_mixed_round(
      "bad",
      "CREATE TRIGGER refuse_bad BEFORE INSERT ON inbox WHEN NEW.event LIKE '%\"bad\"%' "
      "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  const std::int64_t message = round.message;

  ASSERT_TRUE(round.slow && round.accepted && round.completed && round.sent);
  EXPECT_TRUE(round.slow->value());
  ASSERT_FALSE(*round.accepted);
  EXPECT_TRUE(round.accepted->error().is(errc::store_failed));
  ASSERT_TRUE(*round.completed) << "the completion in the failed round is written on its own";
  ASSERT_EQ(due("a").size(), 1u);
  EXPECT_TRUE(*round.sent) << "the outbox update in the failed round is written on its own";
  EXPECT_EQ(status(message)->state, OutboxState::sent);
  const auto left = pending("a");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].event.platform_event_id, "slow");
  // The refused event's key was not remembered: the platform's redelivery is accepted.
  execute_sql("DROP TRIGGER refuse_bad;");
  EXPECT_TRUE(accept(event_for("a", "bad"), {"bad"}));
}

TEST_F(SqliteStoreTest, ASecondStoreOnTheSameFileIsRefusedWithAClearError) {
  // The store holds the file's lock from open to close: a second botgate on the same file
  // would send every queued message twice.
  try {
    SqliteStore second(path_.string());
    FAIL() << "a second store opened a file the first one holds";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path_.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another process has it open"), std::string::npos)
        << e.what();
  }
  // The first one is unharmed, and once it is closed the file opens again.
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  reopen();
  EXPECT_EQ(pending("a").size(), 1u);
}

TEST_F(SqliteStoreTest, AnOlderDatabaseGetsTheLanesOfItsQueuedMessages) {
  const std::int64_t queued = push(message_for("a", "queued"));
  const std::int64_t sent = push(message_for("a", "sent"));
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "pm")));
  store_.reset();
  // As a database was before the outbox had lanes.
  execute_sql("DROP INDEX IF EXISTS outbox_lane; ALTER TABLE outbox DROP COLUMN lane;");

  reopen();

  const std::int64_t later = push(message_for("a", "later"));
  auto page = run_sync(store_->outbox_take("a", SystemTime::clock::now(), 10, 1)).value();
  ASSERT_EQ(page.size(), 1u) << "one of the chat at a time: both are in its lane";
  EXPECT_EQ(page[0].id, queued);
  EXPECT_EQ(page[0].message, message_for("a", "queued"));
  EXPECT_EQ(status(sent)->state, OutboxState::sent);
  ASSERT_TRUE(run_sync(store_->outbox_sent(queued, "pm")));
  page = run_sync(store_->outbox_take("a", SystemTime::clock::now(), 10, 1)).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, later);
}

TEST_F(SqliteStoreTest, ConcurrentPushesShareCommitsAndAKeyQueuesOnceWithinABatch) {
  // The send API under load: many messages queued at once from several threads share
  // transactions (group commit); two calls with one idempotency key in the same batch still
  // queue one message, and both callers get its id.
  const std::uint64_t commits_before = store_->commits();
  asio::io_context io;
  constexpr int kMessages = 300;
  std::mutex mutex;
  std::map<std::string, std::vector<std::int64_t>> ids_by_key;
  std::atomic<int> queued{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kMessages; ++i) {
    for (int copy = 0; copy < 2; ++copy) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        const std::string key = "key-" + std::to_string(i);
        std::vector<OutgoingMessage> parts{message_for("a", "m" + std::to_string(i))};
        auto result = co_await store_->outbox_push_message(std::move(parts), key);
        if (!result) {
          ++failed;
          co_return;
        }
        if (result->queued) ++queued;
        std::lock_guard lock(mutex);
        ids_by_key[key].push_back(result->id);
      }, asio::detached);
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(queued, kMessages);
  ASSERT_EQ(ids_by_key.size(), static_cast<std::size_t>(kMessages));
  std::set<std::int64_t> distinct;
  for (const auto& [key, ids] : ids_by_key) {
    ASSERT_EQ(ids.size(), 2u) << key;
    EXPECT_EQ(ids[0], ids[1]) << key << ": both calls name the one message";
    distinct.insert(ids[0]);
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kMessages));
  EXPECT_LT(store_->commits() - commits_before, static_cast<std::uint64_t>(kMessages))
      << "pushes waiting together share a commit";
  reopen();
  for (const std::int64_t id : distinct) {
    const auto state = status(id);
    ASSERT_TRUE(state) << id;
    EXPECT_EQ(state->state, OutboxState::queued) << id << " committed";
  }
}

TEST_F(SqliteStoreTest, AnOlderDatabaseGetsTheClientKeyColumnAndItsIndex) {
  const std::int64_t before = push(message_for("a", "before"));
  store_.reset();
  // As a database was before the send API kept client keys.
  execute_sql(
      "DROP INDEX IF EXISTS outbox_client_key; ALTER TABLE outbox DROP COLUMN client_key;");

  reopen();

  const auto first = run_sync(store_->outbox_push_message({message_for("a", "k")}, "key-1"));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->queued);
  EXPECT_GT(first->id, before);
  const auto again = run_sync(store_->outbox_push_message({message_for("a", "k")}, "key-1"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->queued);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(status(before)->state, OutboxState::queued);
}

TEST_F(SqliteStoreTest, AnOlderDatabaseGetsTheMessagePartsColumnAndItsOldMessagesAnswerAlone) {
  const auto old_parts = run_sync(
      store_->outbox_push_message({message_for("a", "one"), message_for("a", "two")}, ""));
  ASSERT_TRUE(old_parts);
  store_.reset();
  // As a database was before statuses covered every part of a message.
  execute_sql("DROP INDEX IF EXISTS outbox_first_part; ALTER TABLE outbox DROP COLUMN first_part;");

  reopen();

  const auto old_status = status(old_parts->id);
  ASSERT_TRUE(old_status);
  EXPECT_EQ(old_status->parts.size(), 1u) << "an old message answers as its first part";
  const auto parts = run_sync(
      store_->outbox_push_message({message_for("a", "three"), message_for("a", "four")}, ""));
  ASSERT_TRUE(parts);
  const auto new_status = status(parts->id);
  ASSERT_TRUE(new_status);
  EXPECT_EQ(new_status->parts.size(), 2u) << "a new one answers with all of its parts";
}

TEST_F(SqliteStoreTest, OnlyMessagesWithAClientKeyAreInTheClientKeyIndex) {
  // A reply is a write per event answered: the index must cost it nothing. It is partial, and
  // unique per bot, which is also what makes two messages with one key impossible.
  ASSERT_TRUE(run_sync(store_->outbox_push_message({message_for("a", "k")}, "key-1")));
  push(message_for("a", "reply"));
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'outbox_client_key'",
                               -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  const std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM outbox WHERE client_key IS NULL", -1, &s,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1) << "the reply has no key";
  sqlite3_finalize(s);
  sqlite3_close(db);
  EXPECT_NE(sql.find("UNIQUE"), std::string::npos) << sql;
  EXPECT_NE(sql.find("(bot, client_key)"), std::string::npos) << sql;
  EXPECT_NE(sql.find("WHERE client_key IS NOT NULL"), std::string::npos) << sql;
  reopen();
}

TEST_F(SqliteStoreTest, AClientKeyIsKeptAsLongAsItsMessage) {
  reopen_with(SqliteStoreOptions{.finished_retention = 0ms, .purge_every = 0ms});
  const auto first = run_sync(store_->outbox_push_message({message_for("a", "k")}, "key-1"));
  ASSERT_TRUE(first);
  ASSERT_TRUE(run_sync(store_->outbox_sent(first->id, "p1")));
  ASSERT_TRUE(eventually([&] { return store_->outbox_purged() == 1; }));
  EXPECT_FALSE(status(first->id));
  const auto after = run_sync(store_->outbox_push_message({message_for("a", "k")}, "key-1"));
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->queued) << "the key went with its message";
  EXPECT_GT(after->id, first->id);
}

/// Settles outbox message `id` by its index: sent, retried then sent, retried, or failed.
asio::awaitable<Result<void>> settle_outbox(Store& store, std::int64_t id, int kind) {
  const auto later = SystemTime::clock::now() + 10min;
  switch (kind) {
    case 0:
      co_return co_await store.outbox_sent(id, "p" + std::to_string(id));
    case 1: {
      auto retried = co_await store.outbox_retry(id, SystemTime::clock::now(), "timeout");
      if (!retried) co_return retried;
      co_return co_await store.outbox_sent(id, "p" + std::to_string(id));
    }
    case 2:
      co_return co_await store.outbox_retry(id, later, "429");
    default:
      co_return co_await store.outbox_failed(id, "refused " + std::to_string(id));
  }
}

TEST_F(SqliteStoreTest, ConcurrentOutboxUpdatesAreGroupedAndEachKeepsItsStatus) {
  // Many sends ending at once from several threads: their updates share transactions (group
  // commit), and every message still ends in its own state with its own attempts.
  constexpr int kMessages = 200;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kMessages; ++i) ids.push_back(push(message_for("a", std::to_string(i))));
  asio::io_context io;
  std::atomic<int> failed{0};
  for (int i = 0; i < kMessages; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      if (!co_await settle_outbox(*store_, ids[i], i % 4)) ++failed;
    }, asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&io] { io.run(); });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);
  reopen();
  for (int i = 0; i < kMessages; ++i) {
    SCOPED_TRACE(i);
    const auto s = status(ids[i]);
    ASSERT_TRUE(s);
    switch (i % 4) {
      case 0:
        EXPECT_EQ(s->state, OutboxState::sent);
        EXPECT_EQ(s->attempts, 1);
        EXPECT_EQ(s->platform_message_id, "p" + std::to_string(ids[i]));
        break;
      case 1:
        EXPECT_EQ(s->state, OutboxState::sent);
        EXPECT_EQ(s->attempts, 2);
        EXPECT_TRUE(s->last_error.empty());
        break;
      case 2:
        EXPECT_EQ(s->state, OutboxState::queued);
        EXPECT_EQ(s->attempts, 1);
        EXPECT_EQ(s->last_error, "429");
        break;
      default:
        EXPECT_EQ(s->state, OutboxState::failed);
        EXPECT_EQ(s->attempts, 1);
        EXPECT_EQ(s->last_error, "refused " + std::to_string(ids[i]));
    }
  }
  EXPECT_EQ(run_sync(store_->queue_depth("a")).value().outbox, kMessages / 4);
}

TEST_F(SqliteStoreTest, AnOutboxUpdateThatFailsDoesNotFailTheOthersWrittenWithIt) {
  share_file();
  constexpr int kMessages = 100;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kMessages; ++i) ids.push_back(push(message_for("a", std::to_string(i))));
  const std::int64_t refused = ids[kMessages / 2];
  const std::string trigger = "CREATE TRIGGER refuse_one BEFORE UPDATE ON outbox WHEN NEW.id = " +
                              std::to_string(refused) + " BEGIN SELECT RAISE(ABORT, 'disk'); END;";
  execute_sql(trigger.c_str());
  asio::io_context io;
  std::vector<std::optional<Result<void>>> results(kMessages);
  for (int i = 0; i < kMessages; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      results[i] = co_await store_->outbox_sent(ids[i], "p");
    }, asio::detached);
  }
  io.run();
  for (int i = 0; i < kMessages; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(results[i]);
    const auto s = status(ids[i]);
    if (ids[i] == refused) {
      ASSERT_FALSE(*results[i]);
      EXPECT_TRUE(results[i]->error().is(errc::store_failed));
      EXPECT_EQ(s->state, OutboxState::queued);
      EXPECT_EQ(s->attempts, 0);
    } else {
      EXPECT_TRUE(*results[i]);
      EXPECT_EQ(s->state, OutboxState::sent);
      EXPECT_EQ(s->attempts, 1);
    }
  }
}

TEST_F(SqliteStoreTest, SentAndFailedMessagesAreDeletedAfterTheRetentionAndQueuedOnesStay) {
  reopen_with(SqliteStoreOptions{.finished_retention = 0ms, .purge_every = 0ms});
  const std::int64_t sent = push(message_for("a", "sent"));
  const std::int64_t failed = push(message_for("a", "failed"));
  const std::int64_t queued = push(message_for("a", "queued"));
  const std::int64_t retried = push(message_for("a", "retried"));
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "p1")));
  ASSERT_TRUE(run_sync(store_->outbox_failed(failed, "gone")));
  ASSERT_TRUE(run_sync(store_->outbox_retry(retried, SystemTime::clock::now() + 1h, "429")));

  ASSERT_TRUE(eventually([&] { return store_->outbox_purged() == 2; }))
      << store_->outbox_purged() << " deleted";
  EXPECT_FALSE(status(sent));
  EXPECT_FALSE(status(failed));
  ASSERT_TRUE(status(queued));
  EXPECT_EQ(status(queued)->state, OutboxState::queued);
  ASSERT_TRUE(status(retried));
  EXPECT_EQ(status(retried)->state, OutboxState::queued);
  const auto still_due = due("a");
  ASSERT_EQ(still_due.size(), 1u);
  EXPECT_EQ(still_due[0].id, queued);
  // Deleted for good, not only hidden.
  reopen();
  EXPECT_FALSE(status(sent));
  ASSERT_TRUE(status(retried));
  EXPECT_EQ(status(retried)->state, OutboxState::queued);
}

TEST_F(SqliteStoreTest, FinishedMessagesAnswerTheirStatusUntilTheRetentionPassed) {
  reopen_with(SqliteStoreOptions{.finished_retention = 1h, .purge_every = 0ms});
  const std::int64_t sent = push(message_for("a", "sent"));
  const std::int64_t failed = push(message_for("a", "failed"));
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "p1")));
  ASSERT_TRUE(run_sync(store_->outbox_failed(failed, "gone")));
  // A pass that starts after both were written: the one after the next round of writes.
  const std::uint64_t passes = store_->outbox_purges();
  ASSERT_TRUE(accept(event_for("a", "e1"), {"k1"}));
  ASSERT_TRUE(eventually([&] { return store_->outbox_purges() > passes; }));

  EXPECT_EQ(store_->outbox_purged(), 0u);
  const auto sent_status = status(sent);
  ASSERT_TRUE(sent_status);
  EXPECT_EQ(sent_status->state, OutboxState::sent);
  EXPECT_EQ(sent_status->platform_message_id, "p1");
  const auto failed_status = status(failed);
  ASSERT_TRUE(failed_status);
  EXPECT_EQ(failed_status->state, OutboxState::failed);
  EXPECT_EQ(failed_status->last_error, "gone");
}

TEST_F(SqliteStoreTest, APurgeOfMoreThanOneChunkDeletesThemAll) {
  reopen_with(SqliteStoreOptions{.finished_retention = 0ms, .purge_every = 1h});
  constexpr int kMessages = 2'500;  // 1,000 rows per step
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kMessages; ++i) ids.push_back(push(message_for("a", std::to_string(i))));
  asio::io_context io;
  int written = 0;
  for (const std::int64_t id : ids) {
    asio::co_spawn(io, [&, id]() -> asio::awaitable<void> {
      if (co_await store_->outbox_sent(id, "p")) ++written;
    }, asio::detached);
  }
  io.run();
  ASSERT_EQ(written, kMessages);
  EXPECT_EQ(store_->outbox_purged(), 0u);  // not due: the first pass is an hour after opening

  reopen_with(SqliteStoreOptions{.finished_retention = 0ms, .purge_every = 0ms});
  ASSERT_TRUE(accept(event_for("a", "e1"), {"k1"}));  // a round of writes starts the pass
  ASSERT_TRUE(eventually([&] { return store_->outbox_purges() >= 1; }));
  EXPECT_EQ(store_->outbox_purged(), static_cast<std::uint64_t>(kMessages));
  EXPECT_FALSE(status(ids.front()));
  EXPECT_FALSE(status(ids.back()));
}

TEST_F(SqliteStoreTest, TheEventLogIsPurgedAfterItsRetentionAndCursorsStillGrowAfterIt) {
  reopen_with(SqliteStoreOptions{.event_retention = 0ms, .purge_every = 0ms});
  for (const char* id : {"1", "2", "3"}) {
    ASSERT_TRUE(accept(event_for("a", id), {id}));
    std::this_thread::sleep_for(3ms);  // older than the retention at the next round
  }
  ASSERT_TRUE(eventually([&] { return store_->events_purged() == 2; }))
      << store_->events_purged() << " deleted";
  const auto left = run_sync(store_->events_after(0, {}, 100)).value();
  ASSERT_EQ(left.size(), 1u) << "the newest entry stays: the next cursor goes on from it";
  EXPECT_EQ(event_from_json(left[0].json).value().platform_event_id, "3");
  EXPECT_EQ(pending("a").size(), 3u) << "the inbox is not the log";
  reopen_with(SqliteStoreOptions{.event_retention = 0ms, .purge_every = 0ms});
  ASSERT_TRUE(accept(event_for("a", "4"), {"4"}));
  const auto after = run_sync(store_->events_after(left[0].cursor, {}, 100)).value();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_GT(after[0].cursor, left[0].cursor);
}

TEST_F(SqliteStoreTest, TheEventLogKeepsWhatIsWithinItsRetention) {
  reopen_with(SqliteStoreOptions{.event_retention = 1h, .purge_every = 0ms});
  for (const char* id : {"1", "2", "3"}) ASSERT_TRUE(accept(event_for("a", id), {id}));
  ASSERT_TRUE(run_sync(store_->outbox_push(message_for("a", "another round"))));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(store_->events_purged(), 0u);
  EXPECT_EQ(run_sync(store_->events_after(0, {}, 100)).value().size(), 3u);
}

TEST_F(SqliteStoreTest, AnOlderDatabaseGetsTheEventLog) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"1"}));
  store_.reset();
  execute_sql("DROP TABLE events;");  // as a database was before the event stream
  reopen();
  EXPECT_TRUE(run_sync(store_->events_after(0, {}, 10)).value().empty());
  EXPECT_TRUE(accept(event_for("a", "2"), {"2"}));
  const auto logged = run_sync(store_->events_after(0, {}, 10)).value();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_GT(logged[0].cursor, 0);
  EXPECT_EQ(event_from_json(logged[0].json).value(), event_for("a", "2"));
  EXPECT_EQ(take("a").size(), 2u);
}

TEST_F(SqliteStoreTest, AFailedAcceptLogsNothingAndItsCursorIsNotGivenAgain) {
  share_file();
  ASSERT_TRUE(accept(event_for("a", "1"), {"1"}));
  execute_sql(
      "CREATE TRIGGER refuse_log BEFORE INSERT ON events "
      "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  auto failed = run_sync(store_->accept(event_for("a", "2"), {"2"}, 1h));
  ASSERT_FALSE(failed);
  EXPECT_EQ(pending("a").size(), 1u) << "the inbox row rolled back with the log's";
  execute_sql("DROP TRIGGER refuse_log;");
  ASSERT_TRUE(accept(event_for("a", "2"), {"2"}));
  const auto logged = run_sync(store_->events_after(0, {}, 10)).value();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_LT(logged[0].cursor, logged[1].cursor);
}

TEST_F(SqliteStoreTest, TheWalIsSyncedAheadAndStillCheckpointed) {
  // 3,000 accepts of ~5 KiB: ~12 MiB written through the WAL, two pages or more each.
  const std::string text(5000, 'x');
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(accept(event_for("a", std::to_string(i), text), {"e:a:" + std::to_string(i)}));
  }
  EXPECT_TRUE(eventually([&] { return store_->wal_syncs_ahead() >= 1; }))
      << "the WAL was synced while it grew";
  // Checkpoints (every 1,000 frames, 2,000 at most when the syncs ahead lag) let the WAL start
  // over: ~8 MiB at most; without them it would hold all of it (~88 MiB).
  EXPECT_LT(fs::file_size(path_.string() + "-wal"), 16u * 1024 * 1024);
  EXPECT_EQ(pending("a", 5000).size(), 3000u);
}

/// Threads of this process that the scheduler runs as batch threads.
int batch_threads() {
  int n = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    const int tid = std::stoi(task.path().filename().string());
    if (sched_getscheduler(tid) == SCHED_BATCH) ++n;
  }
  return n;
}

TEST_F(SqliteStoreTest, TheDatabaseThreadDoesNotPreemptTheNetworkThreadsOnWakeup) {
  run_sync(store_->token_get("k"));  // the fixture's store has set its own thread by now
  const int before = batch_threads();
  {
    SqliteStore other((path_.string() + "-other.db"));
    run_sync(other.token_put("k", CachedToken{"v", SystemTime::clock::now() + 1h}));
    EXPECT_EQ(batch_threads(), before + 1) << "its database thread is a batch thread";
    EXPECT_NE(sched_getscheduler(0), SCHED_BATCH) << "the caller's thread is left alone";
  }
  for (const char* suffix : {"-other.db", "-other.db-wal", "-other.db-shm", "-other.db-key"}) {
    std::error_code ignored;
    fs::remove(path_.string() + suffix, ignored);
  }
  EXPECT_EQ(batch_threads(), before);
}

TEST_F(SqliteStoreTest, TokensPutGetErase) {
  EXPECT_FALSE(run_sync(store_->token_get("feishu:cli:tenant")).value());
  const SystemTime expires = SystemTime(std::chrono::milliseconds(1'795'867'200'123));
  ASSERT_TRUE(run_sync(store_->token_put("feishu:cli:tenant", CachedToken{"t-1", expires})));
  auto token = run_sync(store_->token_get("feishu:cli:tenant")).value();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->value, "t-1");
  EXPECT_EQ(token->expires_at, expires);

  // Put replaces.
  ASSERT_TRUE(run_sync(store_->token_put("feishu:cli:tenant", CachedToken{"t-2", expires + 1h})));
  token = run_sync(store_->token_get("feishu:cli:tenant")).value();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->value, "t-2");
  EXPECT_FALSE(run_sync(store_->token_get("feishu:other:tenant")).value());

  ASSERT_TRUE(run_sync(store_->token_erase("feishu:cli:tenant")));
  EXPECT_FALSE(run_sync(store_->token_get("feishu:cli:tenant")).value());
  EXPECT_TRUE(run_sync(store_->token_erase("never-there")));
}

TEST_F(SqliteStoreTest, GatewaySessionsPutGetClearAndSurviveReopening) {
  EXPECT_FALSE(run_sync(store_->session_get("discord:bot:0")).value());
  GatewaySession session{"sess-1", 42, "wss://resume.example/", "80351110224678912"};
  ASSERT_TRUE(run_sync(store_->session_put("discord:bot:0", session)));
  GatewaySession other{"sess-9", 7, "", ""};
  ASSERT_TRUE(run_sync(store_->session_put("discord:bot:1", other)));

  reopen();

  auto loaded = run_sync(store_->session_get("discord:bot:0")).value();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, session);
  session.sequence = 43;
  ASSERT_TRUE(run_sync(store_->session_put("discord:bot:0", session)));
  EXPECT_EQ(run_sync(store_->session_get("discord:bot:0")).value()->sequence, 43);

  // An empty session id clears the row: the next start identifies.
  ASSERT_TRUE(run_sync(store_->session_put("discord:bot:0", GatewaySession{})));
  EXPECT_FALSE(run_sync(store_->session_get("discord:bot:0")).value());
  EXPECT_EQ(*run_sync(store_->session_get("discord:bot:1")).value(), other);
}

TEST_F(SqliteStoreTest, DataSurvivesReopening) {
  EXPECT_TRUE(accept(event_for("a", "1"), {"e:a:1"}));
  const std::int64_t id = push(message_for("a", "queued"));
  const std::int64_t sent = push(message_for("a", "sent"));
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "pm")));
  const SystemTime expires = SystemTime(std::chrono::milliseconds(1'795'867'200'000));
  ASSERT_TRUE(run_sync(store_->token_put("k", CachedToken{"tok", expires})));

  reopen();

  const auto inbox = pending("a");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event, event_for("a", "1"));
  EXPECT_FALSE(accept(event_for("a", "1"), {"e:a:1"})) << "dedup keys survive";
  const auto queued = due("a");
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].id, id);
  EXPECT_EQ(queued[0].message, message_for("a", "queued"));
  EXPECT_EQ(status(sent)->state, OutboxState::sent);
  auto token = run_sync(store_->token_get("k")).value();
  ASSERT_TRUE(token);
  EXPECT_EQ(token->value, "tok");
  EXPECT_EQ(token->expires_at, expires);
  // Ids keep growing after a reopen.
  EXPECT_GT(push(message_for("a", "after")), sent);
}

TEST_F(SqliteStoreTest, ConcurrentCallersAreSerialised) {
  // Many coroutines on one io_context at once: every call goes through the database thread.
  boost::asio::io_context io;
  int accepted = 0;
  int duplicates = 0;
  for (int i = 0; i < 50; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const Event event = event_for("a", std::to_string(i % 25));
          std::vector<std::string> keys{"e:" + std::to_string(i % 25)};
          auto result = co_await store_->accept(event, keys, std::chrono::seconds(3600));
          if (result && *result) {
            ++accepted;
          } else if (result) {
            ++duplicates;
          }
        },
        [](std::exception_ptr e) {
          if (e) {
            std::rethrow_exception(e);
          }
        });
  }
  io.run();
  EXPECT_EQ(accepted, 25);
  EXPECT_EQ(duplicates, 25);
  EXPECT_EQ(pending("a").size(), 25u);
}

TEST_F(SqliteStoreTest, OpeningAnUnwritablePathThrowsNamingIt) {
  const std::string bad =
      (path_.parent_path() / "no-such-dir-botgate" / "x" / "db.sqlite").string();
  try {
    SqliteStore store(bad);
    FAIL() << "opening " << bad << " should fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST(SqlitePathFromUrlTest, Cases) {
  EXPECT_EQ(sqlite_path_from_url("sqlite://botgate.db"), "botgate.db");
  EXPECT_EQ(sqlite_path_from_url("sqlite://data/botgate.db"), "data/botgate.db");
  EXPECT_EQ(sqlite_path_from_url("sqlite:///abs/path.db"), "/abs/path.db");
  EXPECT_FALSE(sqlite_path_from_url("sqlite://"));
  EXPECT_FALSE(sqlite_path_from_url("redis://127.0.0.1:6379/0"));
  EXPECT_FALSE(sqlite_path_from_url("botgate.db"));
  EXPECT_FALSE(sqlite_path_from_url(""));
}

}  // namespace
}  // namespace botgate::store
