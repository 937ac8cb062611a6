#include "botgate/store/sqlite_dedup.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <algorithm>
#include <unistd.h>

namespace botgate::store {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kNow = 1'000'000;
constexpr std::int64_t kLater = kNow + 3'600'000;

/// A real database file with the dedup tables, and a SqliteDedup over it that can be "restarted"
/// (a new object over the same file, as after a crash).
class SqliteDedupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("botgate-dedup-" + std::to_string(::getpid()) + "-" + info->name() + ".db");
    fs::remove(path_);
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db_, kDedupSchema, nullptr, nullptr, nullptr), SQLITE_OK);
    statements_ = std::make_unique<Statements>(db_);
    restart();
  }
  void TearDown() override {
    dedup_.reset();
    statements_.reset();
    sqlite3_close(db_);
    fs::remove(path_);
  }
  void restart(std::size_t limit = 4, std::size_t chunk = 2) {
    dedup_ = std::make_unique<SqliteDedup>(*statements_, limit, chunk);
    dedup_->load(kNow);
  }
  bool table_exists(const char* name) {
    const std::string query =
        std::string("SELECT COUNT(*) FROM sqlite_master WHERE name = '") + name + "'";
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, query.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const bool exists = sqlite3_column_int64(stmt, 0) > 0;
    sqlite3_finalize(stmt);
    return exists;
  }
  void sql(const char* text) { ASSERT_EQ(sqlite3_exec(db_, text, nullptr, nullptr, nullptr), SQLITE_OK); }
  std::int64_t count(const char* table) {
    const std::string query = std::string("SELECT COUNT(*) FROM ") + table;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, query.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const std::int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }
  bool seen(const std::string& key, std::int64_t now_ms) {
    return dedup_->seen(key_hash(key), now_ms);
  }
  /// Records `key` in a transaction of its own, as an accept does.
  void record(const std::string& key, std::int64_t expires = kLater) {
    sql("BEGIN");
    dedup_->record(key_hash(key), expires);
    sql("COMMIT");
    dedup_->committed();
  }
  /// One merge step in a transaction of its own, committed.
  void merge_one() {
    sql("BEGIN");
    dedup_->merge_step(kNow);
    sql("COMMIT");
    dedup_->merge_committed();
  }
  /// Runs merge steps until none is due.
  int merge_all() {
    int steps = 0;
    while (dedup_->merge_due() && steps < 100) {
      merge_one();
      ++steps;
    }
    return steps;
  }

  fs::path path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  std::unique_ptr<SqliteDedup> dedup_;
};

TEST_F(SqliteDedupTest, RecordedKeysAreSeenUntilTheyExpire) {
  EXPECT_FALSE(seen("e:a:1", kNow));
  record("e:a:1", kNow + 10);
  EXPECT_TRUE(seen("e:a:1", kNow));
  EXPECT_TRUE(seen("e:a:1", kNow + 9));
  EXPECT_FALSE(seen("e:a:1", kNow + 10));
  EXPECT_FALSE(seen("e:a:2", kNow));
  EXPECT_EQ(count("dedup_log"), 1);
  EXPECT_EQ(count("dedup_index"), 0) << "a record is an append, not an index insert";
}

TEST_F(SqliteDedupTest, ARolledBackRecordIsForgotten) {
  record("kept");
  sql("BEGIN");
  dedup_->record(key_hash("lost"), kLater);
  EXPECT_TRUE(seen("lost", kNow)) << "seen within its own transaction";
  sql("ROLLBACK");
  dedup_->rolled_back();
  EXPECT_FALSE(seen("lost", kNow));
  EXPECT_TRUE(seen("kept", kNow));
}

TEST_F(SqliteDedupTest, AMergeMovesKeysIntoTheIndexAndKeepsThemSeen) {
  for (int i = 0; i < 5; ++i) record("k" + std::to_string(i));
  ASSERT_TRUE(dedup_->merge_due());
  EXPECT_EQ(merge_all(), 6) << "5 keys in chunks of 2, then their 5 rows of the log";
  EXPECT_EQ(dedup_->recent_size(), 0u);
  EXPECT_EQ(count("dedup_log"), 0);
  EXPECT_EQ(count("dedup_index"), 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(seen("k" + std::to_string(i), kNow)) << i;
  EXPECT_FALSE(seen("k5", kNow));
}

TEST_F(SqliteDedupTest, KeysRecordedDuringAMergeStayRecent) {
  for (int i = 0; i < 4; ++i) record("old" + std::to_string(i));
  sql("BEGIN");
  dedup_->merge_step(kNow);
  sql("COMMIT");
  dedup_->merge_committed();
  record("new");  // between two steps of the merge
  merge_all();
  EXPECT_EQ(count("dedup_index"), 4);
  EXPECT_EQ(count("dedup_log"), 1);
  EXPECT_EQ(dedup_->recent_size(), 1u);
  EXPECT_TRUE(seen("new", kNow));
  restart();
  EXPECT_TRUE(seen("new", kNow)) << "still on disk";
}

TEST_F(SqliteDedupTest, KeysRecordedInAnyOrderAreMergedAndNewOnesOnEitherSideStayRecent) {
  const std::vector<std::string> keys = {"k5", "k3", "k1", "k4", "k2"};
  for (const std::string& key : keys) record(key);
  sql("BEGIN");
  dedup_->merge_step(kNow);  // the two smallest hashes
  sql("COMMIT");
  dedup_->merge_committed();
  EXPECT_EQ(count("dedup_index"), 2);
  // New keys whose hashes sort before and after all the merged ones.
  std::int64_t low = key_hash(keys[0]);
  std::int64_t high = low;
  for (const std::string& key : keys) {
    low = std::min(low, key_hash(key));
    high = std::max(high, key_hash(key));
  }
  std::string before;
  std::string after;
  for (int i = 0; i < 1000 && (before.empty() || after.empty()); ++i) {
    const std::string key = "n" + std::to_string(i);
    if (before.empty() && key_hash(key) < low) before = key;
    if (after.empty() && key_hash(key) > high) after = key;
  }
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(after.empty());
  record(before);
  record(after);
  merge_all();
  EXPECT_EQ(count("dedup_index"), 5);
  EXPECT_EQ(count("dedup_log"), 2);
  EXPECT_EQ(dedup_->recent_size(), 2u);
  for (const std::string& key : keys) EXPECT_TRUE(seen(key, kNow)) << key;
  EXPECT_TRUE(seen(before, kNow));
  EXPECT_TRUE(seen(after, kNow));
  restart();
  for (const std::string& key : {keys[0], keys[4], before, after}) {
    EXPECT_TRUE(seen(key, kNow)) << key;
  }
  EXPECT_FALSE(seen("k6", kNow));
}

TEST_F(SqliteDedupTest, TheLogRowsOfAMergeAreDeletedAChunkAtATime) {
  for (int i = 0; i < 5; ++i) record("k" + std::to_string(i));
  auto step = [&] {
    sql("BEGIN");
    dedup_->merge_step(kNow);
    sql("COMMIT");
    dedup_->merge_committed();
  };
  for (int i = 0; i < 3; ++i) step();  // 5 keys into the index, 2 per step
  EXPECT_EQ(count("dedup_index"), 5);
  EXPECT_EQ(count("dedup_log"), 5);
  step();
  EXPECT_EQ(count("dedup_log"), 3);
  record("new");  // between two deleting steps
  step();
  EXPECT_EQ(count("dedup_log"), 2);
  step();
  EXPECT_EQ(count("dedup_log"), 1) << "the merge ends with its own rows";
  EXPECT_FALSE(dedup_->merge_due());
  EXPECT_EQ(dedup_->recent_size(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(seen("k" + std::to_string(i), kNow)) << i;
  restart();
  EXPECT_TRUE(seen("new", kNow));
  EXPECT_EQ(dedup_->recent_size(), 1u);
}

TEST_F(SqliteDedupTest, RowIdsGivenOutAgainAfterARollbackAreNotTakenByAMerge) {
  // SQLite reuses the row ids of a rolled-back insert. A merge that counted them as its own
  // would delete the key that later gets that id, between two of its steps.
  restart(/*limit=*/2, /*chunk=*/1);
  record("a");
  record("b");
  sql("BEGIN");
  dedup_->record(key_hash("rolled-back"), kLater);
  sql("ROLLBACK");
  dedup_->rolled_back();
  sql("BEGIN");
  dedup_->merge_step(kNow);  // writes "a"
  sql("COMMIT");
  dedup_->merge_committed();
  record("c");  // takes the rolled-back row id
  merge_all();
  EXPECT_TRUE(seen("c", kNow));
  EXPECT_EQ(count("dedup_log"), 1) << "c waits for the next merge";
  restart(2, 1);
  EXPECT_TRUE(seen("c", kNow));
}

TEST_F(SqliteDedupTest, RestartReadsTheRecentKeysBack) {
  record("x");
  record("expired", kNow - 1);
  restart();
  EXPECT_TRUE(seen("x", kNow));
  EXPECT_FALSE(seen("expired", kNow));
  EXPECT_EQ(dedup_->recent_size(), 1u);
}

TEST_F(SqliteDedupTest, AMergeCutShortByACrashIsDoneAgain) {
  for (int i = 0; i < 5; ++i) record("k" + std::to_string(i));
  sql("BEGIN");
  dedup_->merge_step(kNow);
  sql("COMMIT");
  // The process dies here: the first chunk is in the index, every key still in dedup_log.
  restart();
  EXPECT_EQ(dedup_->recent_size(), 5u);
  merge_all();
  EXPECT_EQ(count("dedup_index"), 5);
  EXPECT_EQ(count("dedup_log"), 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(seen("k" + std::to_string(i), kNow)) << i;
}

TEST_F(SqliteDedupTest, ARolledBackMergeStepIsRepeated) {
  for (int i = 0; i < 4; ++i) record("k" + std::to_string(i));
  sql("BEGIN");
  dedup_->merge_step(kNow);
  sql("ROLLBACK");  // no merge_committed(): the step did not happen
  merge_all();
  EXPECT_EQ(count("dedup_index"), 4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(seen("k" + std::to_string(i), kNow)) << i;
}

TEST_F(SqliteDedupTest, ExpiredKeysAreNotMerged) {
  record("live");
  record("dead1", kNow - 1);
  record("dead2", kNow - 1);
  record("dead3", kNow - 1);
  merge_all();
  EXPECT_EQ(count("dedup_index"), 1);
  EXPECT_EQ(count("dedup_log"), 0);
  EXPECT_EQ(dedup_->recent_size(), 0u) << "the expired keys left memory too";
  EXPECT_TRUE(seen("live", kNow));
}

TEST_F(SqliteDedupTest, AMergedChunkLeavesMemoryWhenItsStepCommits) {
  for (int i = 0; i < 4; ++i) record("k" + std::to_string(i));
  sql("BEGIN");
  dedup_->merge_step(kNow);
  sql("ROLLBACK");
  EXPECT_EQ(dedup_->recent_size(), 4u) << "a step rolled back leaves its keys in memory";
  merge_one();
  EXPECT_EQ(dedup_->recent_size(), 2u) << "the first chunk of two is in the index";
  EXPECT_EQ(count("dedup_index"), 2);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(seen("k" + std::to_string(i), kNow)) << i;
}

TEST_F(SqliteDedupTest, AFullFilterIsBuiltAnewAChunkOfTheIndexPerStepAndAnswersThroughout) {
  sql("PRAGMA synchronous=OFF");  // a hundred transactions; durability is not under test here
  // More keys than the smallest filter is sized for (65,536), merged at once.
  constexpr int kKeys = 66'000;
  restart(/*limit=*/kKeys, /*chunk=*/8192);
  sql("BEGIN");
  for (int i = 0; i < kKeys; ++i) dedup_->record(key_hash("in" + std::to_string(i)), kLater);
  sql("COMMIT");
  dedup_->committed();
  ASSERT_TRUE(dedup_->merge_due());
  int steps = 0;
  while (dedup_->merge_due() && steps < 1000) {
    merge_one();
    ++steps;
    for (int i = 0; i < kKeys; i += 997) {
      ASSERT_TRUE(seen("in" + std::to_string(i), kNow)) << i << " after step " << steps;
    }
  }
  EXPECT_EQ(dedup_->filter_rebuilds(), 1u);
  EXPECT_FALSE(dedup_->index_filter().full());
  // 9 steps of inserts and 9 of deletes; the rebuild read the index in more than one step.
  EXPECT_GT(steps, 9 + 9 + 1);
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(seen("in" + std::to_string(i), kNow)) << i;
  int maybe = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string key = "new" + std::to_string(i);
    EXPECT_FALSE(seen(key, kNow));
    if (dedup_->index_filter().may_contain(key_hash(key))) ++maybe;
  }
  EXPECT_LT(maybe, 300) << "sized for twice the index, about 1.4% false maybes";
}

TEST_F(SqliteDedupTest, ARecordAfterExpiryCountsAgain) {
  record("k", kNow - 1);
  EXPECT_FALSE(seen("k", kNow));
  record("k", kLater);
  EXPECT_TRUE(seen("k", kNow));
  for (int i = 0; i < 4; ++i) record("other" + std::to_string(i));
  merge_all();
  EXPECT_TRUE(seen("k", kNow)) << "the newer record wins in the index";
}

TEST(KeyHashTest, IsTheSameInEveryBuildBecauseDatabasesStoreIt) {
  // Computed apart from this code (FNV-1a 64, then the finalizer's shifts and multipliers, in
  // Python); a change here would make every key stored before count as new.
  EXPECT_EQ(key_hash(""), -780787492076525413);
  EXPECT_EQ(key_hash("e:feishu:5e3702a84e847582be8db7fb73283c02"), 5710317775644215107);
  EXPECT_EQ(key_hash("m:feishu:om_1"), 3335206146846643610);
}

TEST_F(SqliteDedupTest, KeysOfADatabaseFromBeforeHashesAreMovedAndStaySeen) {
  dedup_.reset();
  sql("CREATE TABLE dedup (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE dedup_recent (id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
      "  expires_at INTEGER NOT NULL);");
  sql("INSERT INTO dedup VALUES ('merged', 2000000), ('gone', 10), ('both', 1500000);"
      "INSERT INTO dedup_recent (key, expires_at) VALUES ('recent', 2000000), ('both', 2500000);");
  restart();
  EXPECT_TRUE(seen("merged", kNow));
  EXPECT_TRUE(seen("recent", kNow));
  EXPECT_FALSE(seen("gone", kNow)) << "expired before the move, expired after it";
  EXPECT_TRUE(seen("both", 2'000'000)) << "the later expiry of the two is kept";
  EXPECT_FALSE(seen("never", kNow));
  EXPECT_FALSE(table_exists("dedup"));
  EXPECT_FALSE(table_exists("dedup_recent"));
  EXPECT_EQ(count("dedup_index"), 4);
  restart();
  EXPECT_TRUE(seen("recent", kNow)) << "and still after the next start";
}

TEST_F(SqliteDedupTest, TheFilterRulesOutNewKeysWithoutForgettingIndexedOnes) {
  // Many keys merged into the index, and a restart (the filter is built from the index).
  restart(/*limit=*/512, /*chunk=*/256);
  for (int i = 0; i < 3000; ++i) {
    record("in" + std::to_string(i));
    merge_all();
  }
  ASSERT_GT(count("dedup_index"), 2000);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(seen("in" + std::to_string(i), kNow)) << i;
    int maybe = 0;
    for (int i = 0; i < 10000; ++i) {
      const std::string key = "new" + std::to_string(i);
      EXPECT_FALSE(seen(key, kNow));
      if (dedup_->index_filter().may_contain(key_hash(key))) ++maybe;
    }
    // Without the filter every new key would walk the index; with it, a few percent at most.
    EXPECT_LT(maybe, 300) << "round " << round;
    restart(512, 256);
  }
}

TEST(HashFilterTest, EveryHashAddedIsMaybeThereAndFewOthersAre) {
  HashFilter filter;
  filter.reset(100'000);
  for (int i = 0; i < 100'000; ++i) filter.add(key_hash("k" + std::to_string(i)));
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(filter.may_contain(key_hash("k" + std::to_string(i))));
  int maybe = 0;
  for (int i = 0; i < 100'000; ++i) maybe += filter.may_contain(key_hash("x" + std::to_string(i)));
  EXPECT_LT(maybe, 3'000);  // about 1.4% expected at 16 bits a hash
  EXPECT_FALSE(filter.full());
}

TEST(HashFilterTest, SaysWhenItHoldsMoreThanItWasSizedFor) {
  HashFilter filter;
  filter.reset(10);  // the smallest size: 2^20 bits, room for 65,536
  EXPECT_EQ(filter.bytes(), (1u << 20) / 8);
  for (int i = 0; i < 65'536; ++i) filter.add(i * 0x9E3779B97F4A7C15ll);
  EXPECT_FALSE(filter.full());
  filter.add(-1);
  EXPECT_TRUE(filter.full());
}

}  // namespace
}  // namespace botgate::store
