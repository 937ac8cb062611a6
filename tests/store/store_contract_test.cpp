// The Store contract (core/store.hpp), run against every implementation: the in-memory store
// the runtime tests use and the SQLite store (a Redis store joins the list when it exists).
// Each test says what any store must do, never how one does it.
#include "botgate/core/store.hpp"
#include "botgate/store/sqlite_store.hpp"

#include "support/memory_store.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
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

template <class Maker>
class StoreContractTest : public ::testing::Test {
 protected:
  Store& store() { return maker_.store(); }
  void restart() { maker_.restart(); }

  bool accept(const Event& event, std::vector<std::string> keys, std::chrono::seconds ttl = 1h) {
    return run_sync(store().accept(event, std::move(keys), ttl)).value();
  }
  std::vector<InboxItem> take(const std::string& bot, std::size_t limit = 100) {
    return run_sync(store().inbox_take(bot, limit)).value();
  }
  std::vector<OutboxItem> due(const std::string& bot) {
    return run_sync(store().outbox_due(bot, SystemTime::clock::now() + 1ms, 100)).value();
  }
  OutboxStatus status(std::int64_t id) {
    auto status = run_sync(store().outbox_status(id)).value();
    EXPECT_TRUE(status.has_value()) << id;
    return status.value_or(OutboxStatus{});
  }

  Maker maker_;
};

using Makers = ::testing::Types<MemoryMaker, SqliteMaker>;
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
  const auto queued = run_sync(this->store().inbox_complete(std::move(done))).value();
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_LT(queued[0].id, queued[1].id);
  EXPECT_LT(queued[1].id, queued[2].id);
  EXPECT_EQ(queued[2].message.plain_text(), "three");
  const auto waiting = this->due("a");
  ASSERT_EQ(waiting.size(), 3u);
  EXPECT_EQ(waiting[0].message.plain_text(), "one");
  EXPECT_EQ(waiting[0].message.idempotency_key, "key-one");
  EXPECT_TRUE(run_sync(this->store().inbox_pending("a", 10)).value().empty());
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
  EXPECT_TRUE(this->due("a").empty()) << "the retry is not due for an hour";
  const auto next = run_sync(this->store().outbox_next_due("a")).value();
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, SystemTime::clock::now() + 59min);
  EXPECT_EQ(run_sync(this->store().queue_depth("a")).value().outbox, 1);

  this->restart();
  EXPECT_EQ(this->status(retried).attempts, 1) << "durable";
  ASSERT_TRUE(run_sync(this->store().outbox_retry(retried, SystemTime::clock::now(), "again")));
  const auto waiting = this->due("a");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].id, retried);
  EXPECT_EQ(waiting[0].attempts, 2);
  EXPECT_FALSE(run_sync(this->store().outbox_status(987654)).value()) << "an unknown id";
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
  this->restart();
  const auto waiting = this->due("a");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].message.reply_credential, event.reply_credential);
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

}  // namespace
}  // namespace botgate
