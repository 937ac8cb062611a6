#pragma once
/// Syncs the SQLite store's WAL file to disk from a thread of its own while it grows, and says
/// when to checkpoint: once the WAL is due for one and (nearly) synced already.
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
  /// `wal_path`: the database's path plus "-wal". A checkpoint is due every `checkpoint_frames`
  /// frames; a sync is started each time the WAL grew by `every_frames` since the last one, and
  /// at every commit once a checkpoint is due (one sync at a time).
  explicit WalSyncAhead(std::string wal_path, int checkpoint_frames, int every_frames = 256);
  /// Waits for a sync under way.
  ~WalSyncAhead();
  WalSyncAhead(const WalSyncAhead&) = delete;
  WalSyncAhead& operator=(const WalSyncAhead&) = delete;

  /// After a commit: the WAL holds `frames` frames (fewer than before once a checkpoint let it
  /// start over). True when the checkpoint should run now: it is due and a sync covered all but
  /// the last few frames, or the WAL grew to twice the checkpoint's size without one.
  bool wal_grew(int frames);

  /// Syncs done and ended so far (for tests): once it counts one, the next can be asked for.
  std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_acquire); }

 private:
  void sync_file(std::uint64_t covers);
  static std::uint64_t mark(std::uint32_t generation, int frames) {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(frames);
  }

  std::string path_;
  int checkpoint_frames_;
  int every_frames_;
  // Database thread only. A generation is the WAL from one start over to the next.
  std::uint32_t generation_ = 0;
  int last_frames_ = 0;
  int requested_frames_ = 0;  // of this generation, covered by the last sync asked for
  // mark() of the frames the last finished sync covered.
  std::atomic<std::uint64_t> synced_{0};
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> syncs_{0};
  boost::asio::thread_pool thread_{1};
};

}  // namespace botgate::store
