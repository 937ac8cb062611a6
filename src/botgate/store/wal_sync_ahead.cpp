#include "botgate/store/wal_sync_ahead.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace botgate::store {

WalSyncAhead::WalSyncAhead(std::string wal_path, int every_frames)
    : path_(std::move(wal_path)), every_frames_(every_frames) {}

WalSyncAhead::~WalSyncAhead() { thread_.join(); }

void WalSyncAhead::wal_grew(int frames) {
  if (frames < frames_at_last_) frames_at_last_ = 0;  // the WAL started over
  if (frames - frames_at_last_ < every_frames_) return;
  if (busy_.exchange(true, std::memory_order_acq_rel)) return;  // the next commit asks again
  frames_at_last_ = frames;
  boost::asio::post(thread_, [this] { sync_file(); });
}

void WalSyncAhead::sync_file() {
  // Opened each time: SQLite may delete the file and make a new one (at close), and an old
  // descriptor would go on syncing the deleted one. A failure only leaves the work to SQLite.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::fdatasync(fd) == 0) syncs_.fetch_add(1, std::memory_order_relaxed);
    ::close(fd);
  }
  busy_.store(false, std::memory_order_release);
}

}  // namespace botgate::store
