#pragma once
/// Syncs the SQLite store's WAL file to disk from a thread of its own while it grows, so that
/// the checkpoint on the database thread finds it (nearly) synced already.
///
/// With synchronous=NORMAL a commit only writes the WAL; the checkpoint that copies it back
/// first syncs it, and that fdatasync of ~4 MiB took 3-4 ms of the checkpoint's 4.5-7, with every
/// callback of the moment waiting for the database thread. A sync is a sync of the file whoever
/// asks for it: asked for earlier and elsewhere, it leaves the checkpoint the frames since.
/// Syncing more often than SQLite does never weakens what a commit promises.
///
/// Thread safety: wal_grew() from the database thread only; syncs() from any thread.

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace botgate::store {

class WalSyncAhead {
 public:
  /// `wal_path`: the database's path plus "-wal". A sync is started each time the WAL grew by
  /// `every_frames` since the last one (one at a time).
  explicit WalSyncAhead(std::string wal_path, int every_frames = 256);
  /// Waits for a sync under way.
  ~WalSyncAhead();
  WalSyncAhead(const WalSyncAhead&) = delete;
  WalSyncAhead& operator=(const WalSyncAhead&) = delete;

  /// After a commit: the WAL holds `frames` frames (fewer than before once a checkpoint let it
  /// start over).
  void wal_grew(int frames);

  /// Syncs done so far (for tests).
  std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_relaxed); }

 private:
  void sync_file();

  std::string path_;
  int every_frames_;
  int frames_at_last_ = 0;  // database thread only
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> syncs_{0};
  boost::asio::thread_pool thread_{1};
};

}  // namespace botgate::store
