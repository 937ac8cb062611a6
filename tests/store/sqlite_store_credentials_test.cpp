// What the store keeps of platform credentials: a reply credential beside the inbox and outbox
// rows (never in their JSON) until the reply that used it is settled, and a database file that
// only its owner can read.
#include "botgate/core/event_json.hpp"
#include "botgate/store/sqlite_store.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using test::run_sync;
namespace fs = std::filesystem;

constexpr const char* kWebhookKey = "WEBHOOK-KEY-4d1f9a";
const std::string kWebhookUrl =
    std::string("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=") + kWebhookKey;

class SqliteStoreCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("botgate-cred-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
             "-" + info->name() + ".db");
    remove_files();
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
  void open() { store_ = std::make_unique<SqliteStore>(path_.string()); }
  void reopen() {
    store_.reset();
    open();
  }

  /// The first column of every row of `sql`, NULL as "<null>", read on a connection of its own
  /// (the store must be closed: it holds the file's lock).
  std::vector<std::string> column(const char* sql) {
    std::vector<std::string> values;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.string().c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    const int rc = sqlite3_exec(
        db, sql,
        [](void* out, int, char** row, char**) {
          static_cast<std::vector<std::string>*>(out)->push_back(row[0] ? row[0] : "<null>");
          return 0;
        },
        &values, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return values;
  }
  void execute(const char* sql) { (void)column(sql); }

  bool file_contains(const std::string& path, std::string_view needle) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return bytes.find(needle) != std::string::npos;
  }

  /// True when every value is a sealed credential: not empty, and nothing of the plaintext.
  static bool is_sealed(const std::vector<std::string>& values) {
    if (values.empty()) return false;
    for (const std::string& value : values) {
      if (value == "<null>" || value.empty() || value.find(kWebhookKey) != std::string::npos ||
          value.find("qyapi") != std::string::npos) {
        return false;
      }
    }
    return true;
  }

  std::string key_path() const { return path_.string() + "-key"; }

  fs::path path_;
  std::unique_ptr<SqliteStore> store_;
};

Event group_event(const std::string& id) {
  Event event;
  event.id = "id-" + id;
  event.platform = "wecom";
  event.bot = "wecom";
  event.platform_event_id = id;
  event.chat = Chat{"wrkSFf", ChatType::group, std::nullopt};
  event.sender = User{"zhangsan", "Zhang San", false};
  event.message = Message{"msg-" + id, "hello", true, {Text{"hello"}}};
  event.reply_credential = kWebhookUrl;
  return event;
}

OutgoingMessage reply_to(const Event& event, const std::string& text) {
  OutgoingMessage reply = OutgoingMessage::plain(text);
  reply.in_reply_to(event);
  reply.idempotency_key = event.id + "-" + text;
  return reply;
}

TEST_F(SqliteStoreCredentialsTest, TheCredentialIsKeptBesideTheJsonAndSurvivesARestart) {
  open();
  const Event event = group_event("1");
  ASSERT_TRUE(run_sync(store_->accept(event, {"k1"}, 1h)).value());

  reopen();  // a crash after the accept
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event.reply_credential, kWebhookUrl) << "a restart can still reply";
  EXPECT_EQ(inbox[0].event, event);
  ASSERT_TRUE(run_sync(store_->inbox_complete(inbox[0].id, {reply_to(inbox[0].event, "a")})));

  reopen();  // a crash after the handlers, before the send
  auto due = run_sync(store_->outbox_take("wecom", SystemTime::clock::now(), 10, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].message.reply_credential, kWebhookUrl);

  store_.reset();
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM outbox")));
  for (const std::string& json : column("SELECT message FROM outbox")) {
    EXPECT_EQ(json.find(kWebhookKey), std::string::npos) << json;
  }
}

TEST_F(SqliteStoreCredentialsTest, TheInboxRowsJsonHasNoCredential) {
  open();
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  store_.reset();
  const auto events = column("SELECT event FROM inbox");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].find(kWebhookKey), std::string::npos) << events[0];
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM inbox")));
}

TEST_F(SqliteStoreCredentialsTest, TheCredentialIsClearedWhenItsMessageIsSentOrFailedNotRetried) {
  open();
  const Event event = group_event("1");
  const auto sent = run_sync(store_->outbox_push(reply_to(event, "sent"))).value();
  const auto failed = run_sync(store_->outbox_push(reply_to(event, "failed"))).value();
  const auto retried = run_sync(store_->outbox_push(reply_to(event, "retried"))).value();
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent, "pm-1")));
  ASSERT_TRUE(run_sync(store_->outbox_failed(failed, "93000 invalid webhook url")));
  ASSERT_TRUE(run_sync(store_->outbox_retry(retried, SystemTime::clock::now(), "timeout")));

  auto due = run_sync(store_->outbox_take("wecom", SystemTime::clock::now(), 10, 10)).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, retried);
  EXPECT_EQ(due[0].message.reply_credential, kWebhookUrl) << "a retry still needs it";

  store_.reset();
  const auto credentials =
      column("SELECT IFNULL(reply_credential, '<null>') FROM outbox ORDER BY id");
  ASSERT_EQ(credentials.size(), 3u);
  EXPECT_EQ(credentials[0], "<null>");
  EXPECT_EQ(credentials[1], "<null>");
  EXPECT_TRUE(is_sealed({credentials[2]}));
}

TEST_F(SqliteStoreCredentialsTest, NothingOfTheCredentialIsLeftInTheFileOnceTheReplyIsSent) {
  // SQLite leaves a deleted or rewritten value's bytes in the page's free space unless told to
  // overwrite them (secure_delete).
  open();
  const Event event = group_event("1");
  ASSERT_TRUE(run_sync(store_->accept(event, {"k1"}, 1h)).value());
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u);
  ASSERT_TRUE(run_sync(store_->inbox_complete(inbox[0].id, {reply_to(inbox[0].event, "a")})));
  auto queued = run_sync(store_->outbox_take("wecom", SystemTime::clock::now(), 10, 10)).value();
  ASSERT_EQ(queued.size(), 1u);
  ASSERT_TRUE(run_sync(store_->outbox_sent(queued[0].id, "pm-1")));
  store_.reset();  // a clean close checkpoints the WAL into the file
  ASSERT_TRUE(fs::exists(path_));
  for (const char* suffix : {"", "-wal", "-journal"}) {
    EXPECT_FALSE(file_contains(path_.string() + suffix, kWebhookKey)) << suffix;
  }
}

TEST_F(SqliteStoreCredentialsTest, AnOlderDatabaseHasItsCredentialsMovedOutOfTheJson) {
  open();
  Event event = group_event("1");
  event.reply_credential.clear();
  ASSERT_TRUE(run_sync(store_->accept(event, {"k1"}, 1h)).value());
  OutgoingMessage queued = reply_to(event, "queued");
  const auto queued_id = run_sync(store_->outbox_push(queued)).value();
  const auto sent_id = run_sync(store_->outbox_push(reply_to(event, "sent"))).value();
  ASSERT_TRUE(run_sync(store_->outbox_sent(sent_id, "pm")));
  OutgoingMessage qq = reply_to(event, "qq");
  qq.reply_context = "group";
  const auto qq_id = run_sync(store_->outbox_push(qq)).value();
  store_.reset();
  // As rows were written before: the credential in reply_context, no column for it.
  const std::string sql =
      "UPDATE inbox SET event = json_set(event, '$.reply_context', '" + kWebhookUrl + "');"
      "UPDATE outbox SET message = json_set(message, '$.reply_context', '" + kWebhookUrl +
      "') WHERE id != " + std::to_string(qq_id) + ";"
      "ALTER TABLE inbox DROP COLUMN reply_credential;"
      "ALTER TABLE outbox DROP COLUMN reply_credential;";
  execute(sql.c_str());
  ASSERT_NE(column("SELECT message FROM outbox ORDER BY id")[0].find(kWebhookKey),
            std::string::npos);

  open();
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event.reply_credential, kWebhookUrl);
  EXPECT_TRUE(inbox[0].event.reply_context.empty());
  auto due = run_sync(store_->outbox_take("wecom", SystemTime::clock::now(), 10, 10)).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, queued_id);
  EXPECT_EQ(due[0].message.reply_credential, kWebhookUrl);
  EXPECT_TRUE(due[0].message.reply_context.empty());
  EXPECT_EQ(due[1].message.reply_context, "group") << "a context that is no credential stays";
  EXPECT_TRUE(due[1].message.reply_credential.empty());
  store_.reset();
  for (const std::string& json : column("SELECT event FROM inbox UNION ALL "
                                        "SELECT message FROM outbox")) {
    EXPECT_EQ(json.find(kWebhookKey), std::string::npos) << json;
  }
  const auto credentials =
      column("SELECT IFNULL(reply_credential, '<null>') FROM outbox ORDER BY id");
  ASSERT_EQ(credentials.size(), 3u);
  EXPECT_TRUE(is_sealed({credentials[0]})) << "moved, and sealed";
  EXPECT_EQ(credentials[1], "<null>") << "a sent message's credential is dropped";
  EXPECT_EQ(credentials[2], "<null>");
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM inbox")));
}

TEST_F(SqliteStoreCredentialsTest, TheCredentialIsNeverInTheFileOrTheRunningWal) {
  // The WAL keeps older page images until it is reset; a crash leaves it as it is.
  open();
  for (int i = 0; i < 20; ++i) {
    const Event event = group_event(std::to_string(i));
    ASSERT_TRUE(run_sync(store_->accept(event, {"k" + std::to_string(i)}, 1h)).value());
  }
  auto inbox = run_sync(store_->inbox_pending("wecom", 100)).value();
  ASSERT_EQ(inbox.size(), 20u);
  EXPECT_EQ(inbox[7].event.reply_credential, kWebhookUrl);
  ASSERT_TRUE(run_sync(store_->inbox_complete(inbox[0].id, {reply_to(inbox[0].event, "a")})));
  auto queued = run_sync(store_->outbox_take("wecom", SystemTime::clock::now(), 10, 10)).value();
  ASSERT_EQ(queued.size(), 1u);
  ASSERT_TRUE(run_sync(store_->outbox_sent(queued[0].id, "pm-1")));
  // Still running: the database file and its WAL as a crash would leave them.
  ASSERT_TRUE(fs::exists(path_.string() + "-wal"));
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    EXPECT_FALSE(file_contains(path_.string() + suffix, kWebhookKey)) << suffix;
  }
}

TEST_F(SqliteStoreCredentialsTest, ADeadLetterKeepsTheCredentialSealedAndARetryGetsItBack) {
  open();
  const Event event = group_event("1");
  ASSERT_TRUE(run_sync(store_->accept(event, {"k1"}, 1h)).value());
  auto taken = run_sync(store_->inbox_take("wecom", 10)).value();
  ASSERT_EQ(taken.size(), 1u);
  const auto dead = run_sync(store_->inbox_dead_letter(taken[0].id, "gave up")).value();
  reopen();
  const auto letters = run_sync(store_->dead_letters("wecom", 0, 10)).value();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].event.reply_credential, kWebhookUrl) << "a retry can still reply";
  EXPECT_EQ(letters[0].event, event);
  // Still running: nothing of the credential in clear in the file or its WAL.
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    EXPECT_FALSE(file_contains(path_.string() + suffix, kWebhookKey)) << suffix;
  }
  store_.reset();
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM dead_letters")));
  for (const std::string& json : column("SELECT event FROM dead_letters")) {
    EXPECT_EQ(json.find(kWebhookKey), std::string::npos) << json;
  }
  EXPECT_TRUE(column("SELECT id FROM inbox").empty());

  open();
  ASSERT_TRUE(run_sync(store_->dead_letter_retry(dead)).value());
  taken = run_sync(store_->inbox_take("wecom", 10)).value();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].event.reply_credential, kWebhookUrl) << "from the copy in memory";
  reopen();
  taken = run_sync(store_->inbox_take("wecom", 10)).value();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].event.reply_credential, kWebhookUrl) << "from the table";
  store_.reset();
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM inbox")));
  EXPECT_TRUE(column("SELECT id FROM dead_letters").empty());
}

TEST_F(SqliteStoreCredentialsTest, NothingOfTheCredentialIsLeftInTheFileOnceADeadLetterIsDiscarded) {
  open();
  for (int i = 0; i < 3; ++i) {
    const Event event = group_event(std::to_string(i));
    ASSERT_TRUE(run_sync(store_->accept(event, {"k" + std::to_string(i)}, 1h)).value());
  }
  const auto taken = run_sync(store_->inbox_take("wecom", 10)).value();
  ASSERT_EQ(taken.size(), 3u);
  std::vector<std::int64_t> dead;
  for (const InboxItem& item : taken) {
    dead.push_back(run_sync(store_->inbox_dead_letter(item.id, "gave up")).value());
  }
  ASSERT_TRUE(run_sync(store_->dead_letter_retry(dead[0])).value());
  ASSERT_TRUE(run_sync(store_->dead_letter_discard(dead[1])).value());
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    EXPECT_FALSE(file_contains(path_.string() + suffix, kWebhookKey)) << suffix;
  }
  store_.reset();  // a clean close checkpoints the WAL into the file
  for (const char* suffix : {"", "-wal", "-journal"}) {
    EXPECT_FALSE(file_contains(path_.string() + suffix, kWebhookKey)) << suffix;
  }
  EXPECT_TRUE(is_sealed(column("SELECT reply_credential FROM dead_letters")));
  EXPECT_EQ(column("SELECT id FROM dead_letters").size(), 1u);
}

TEST_F(SqliteStoreCredentialsTest, TheKeyIsMadeOnceOwnerOnlyAndKeptAcrossRestarts) {
  const mode_t old_umask = ::umask(022);
  open();
  ::umask(old_umask);
  ASSERT_TRUE(fs::exists(key_path()));
  struct stat st {};
  ASSERT_EQ(::stat(key_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::ifstream in(key_path());
  const std::string key{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(key.size(), 65u) << "64 hex digits and a newline";
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  reopen();
  std::ifstream again(key_path());
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(again), std::istreambuf_iterator<char>()),
            key);
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event.reply_credential, kWebhookUrl);
}

TEST_F(SqliteStoreCredentialsTest, ACredentialSealedUnderAnotherKeyIsLeftOutNotMisread) {
  open();
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  store_.reset();
  std::ofstream(key_path(), std::ios::trunc) << std::string(64, 'a') << "\n";
  open();
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u) << "the event itself is kept";
  EXPECT_TRUE(inbox[0].event.reply_credential.empty());
}

TEST_F(SqliteStoreCredentialsTest, APlaintextCredentialOfAnOlderVersionIsStillRead) {
  open();
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  store_.reset();
  execute(("UPDATE inbox SET reply_credential = '" + kWebhookUrl + "'").c_str());
  open();
  auto inbox = run_sync(store_->inbox_pending("wecom", 10)).value();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event.reply_credential, kWebhookUrl);
}

TEST_F(SqliteStoreCredentialsTest, AKeyFileWithoutAKeyIsAnErrorThatNamesIt) {
  std::ofstream(key_path()) << "not a key\n";
  try {
    open();
    FAIL() << "opened with a broken key file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(key_path()), std::string::npos) << e.what();
  }
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(SqliteStoreCredentialsTest, ANewDatabaseAndItsWalAreReadableByTheOwnerOnly) {
  const mode_t old_umask = ::umask(022);  // the usual one: files 0644 unless told otherwise
  open();
  ::umask(old_umask);
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  EXPECT_EQ(mode_of(path_.string()), 0600u);
  ASSERT_TRUE(fs::exists(path_.string() + "-wal"));
  EXPECT_EQ(mode_of(path_.string() + "-wal"), 0600u);
}

TEST_F(SqliteStoreCredentialsTest, AnExistingDatabaseReadableByOthersIsMadePrivateAtOpen) {
  open();
  ASSERT_TRUE(run_sync(store_->accept(group_event("1"), {"k1"}, 1h)).value());
  store_.reset();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  open();
  EXPECT_EQ(mode_of(path_.string()), 0600u);
  EXPECT_EQ(run_sync(store_->inbox_pending("wecom", 10)).value().size(), 1u) << "data kept";
}

}  // namespace
}  // namespace botgate::store
