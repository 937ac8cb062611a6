#include "botgate/store/wal_sync_ahead.hpp"

#include "botgate/core/thread_name.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace botgate::store {
namespace {
/// Frames a checkpoint may find unsynced: about one round of writes, which it syncs itself.
constexpr int kSlackFrames = 64;
}  // namespace

WalSyncAhead::WalSyncAhead(std::string wal_path, int checkpoint_frames, int every_frames)
    : path_(std::move(wal_path)), checkpoint_frames_(checkpoint_frames),
      every_frames_(every_frames) {
  boost::asio::post(thread_, [] { name_this_thread("botgate-walsync"); });
}

WalSyncAhead::~WalSyncAhead() { thread_.join(); }

bool WalSyncAhead::wal_grew(int frames) {
  if (frames < last_frames_) {  // the WAL started over
    ++generation_;
    requested_frames_ = 0;
  }
  last_frames_ = frames;
  const bool due = frames >= checkpoint_frames_;
  if ((due || frames - requested_frames_ >= every_frames_) && frames > requested_frames_ &&
      !busy_.exchange(true, std::memory_order_acq_rel)) {
    requested_frames_ = frames;
    boost::asio::post(thread_, [this, covers = mark(generation_, frames)] { sync_file(covers); });
  }
  if (!due) return false;
  if (frames >= 2 * checkpoint_frames_) return true;
  const std::uint64_t synced = synced_.load(std::memory_order_acquire);
  return synced >> 32 == generation_ &&
         frames - static_cast<int>(synced & 0xffffffffU) <= kSlackFrames;
}

void WalSyncAhead::sync_file(std::uint64_t covers) {
  // Opened each time: SQLite may delete the file and make a new one (at close), and an old
  // descriptor would go on syncing the deleted one. A failure only leaves the work to SQLite.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  bool done = false;
  if (fd >= 0) {
    if (::fdatasync(fd) == 0) {
      synced_.store(covers, std::memory_order_release);
      done = true;
    }
    ::close(fd);
  }
  busy_.store(false, std::memory_order_release);
  // Counted once it has ended, so that whoever sees the count may ask for the next sync at once.
  if (done) syncs_.fetch_add(1, std::memory_order_release);
}

}  // namespace botgate::store
