#include "botgate/store/wal_sync_ahead.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Waits (up to 5 s) until `sync` has done `n` syncs.
bool synced(const WalSyncAhead& sync, std::uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (sync.syncs() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class WalSyncAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("botgate-wal-" + std::to_string(::getpid()) + "-" + info->name() + "-wal");
    std::ofstream(path_) << "frames";
  }
  void TearDown() override { fs::remove(path_); }
  fs::path path_;
};

TEST_F(WalSyncAheadTest, SyncsAsTheWalGrowsAndCheckpointsOnceItCaughtUp) {
  WalSyncAhead sync(path_.string(), 1000, 256);
  EXPECT_FALSE(sync.wal_grew(100));
  EXPECT_EQ(sync.syncs(), 0u) << "not before 256 frames";
  EXPECT_FALSE(sync.wal_grew(300));
  ASSERT_TRUE(synced(sync, 1));
  EXPECT_FALSE(sync.wal_grew(1000)) << "due, but 700 frames since the last sync";
  ASSERT_TRUE(synced(sync, 2)) << "a due checkpoint asks for a sync at once";
  EXPECT_TRUE(sync.wal_grew(1020)) << "synced up to 1000: checkpoint now";
}

TEST_F(WalSyncAheadTest, ASyncOfTheWalBeforeItStartedOverDoesNotCount) {
  WalSyncAhead sync(path_.string(), 1000, 256);
  EXPECT_FALSE(sync.wal_grew(990));
  ASSERT_TRUE(synced(sync, 1));
  EXPECT_TRUE(sync.wal_grew(1000));  // and asks for a sync up to 1000
  ASSERT_TRUE(synced(sync, 2));
  // The checkpoint ran; the next commit starts the WAL over. While the file cannot be synced
  // (removed here) the only syncs done are the old WAL's, and they must not count for the new
  // one. With the file there, a sync of the new WAL asked for by the same call could end before
  // the call returns, and the answer would rightly be true.
  fs::remove(path_);
  EXPECT_FALSE(sync.wal_grew(10));
  EXPECT_FALSE(sync.wal_grew(1000)) << "the 1,000 frames synced were of the old WAL";
  std::ofstream(path_) << "frames";
  // Asked again until the failed sync has ended and a new one could start.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (sync.syncs() < 3 && std::chrono::steady_clock::now() < deadline) {
    (void)sync.wal_grew(1010);
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(sync.syncs(), 3u);
  EXPECT_TRUE(sync.wal_grew(1020)) << "the new WAL synced up to 1010";
}

TEST_F(WalSyncAheadTest, WithoutSyncsTheCheckpointWaitsForTwiceItsSizeAtMost) {
  WalSyncAhead sync((path_.string() + "-missing"), 1000, 256);  // every sync fails to open it
  EXPECT_FALSE(sync.wal_grew(1000));
  EXPECT_FALSE(sync.wal_grew(1999));
  EXPECT_TRUE(sync.wal_grew(2000));
  EXPECT_EQ(sync.syncs(), 0u);
}

}  // namespace
}  // namespace botgate::store
