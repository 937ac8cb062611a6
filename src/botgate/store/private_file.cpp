#include "botgate/store/private_file.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace botgate::store {
namespace {

constexpr mode_t kOwnerOnly = S_IRUSR | S_IWUSR;
constexpr mode_t kGroupAndOther = S_IRWXG | S_IRWXO;

/// Takes group and other permissions from `path` if it exists.
void tighten(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if ((st.st_mode & kGroupAndOther) == 0) return;
  if (::chmod(path.c_str(), st.st_mode & ~kGroupAndOther & 07777) != 0) {
    spdlog::warn("store: cannot make '{}' private (mode {:o}): {}", path, st.st_mode & 07777,
                 std::strerror(errno));
    return;
  }
  spdlog::warn("store: '{}' was readable by others (mode {:o}): now only by its owner", path,
               st.st_mode & 07777);
}

}  // namespace

void make_private(const std::string& path) {
  // O_EXCL: only a file this call creates gets the mode here; one that exists is tightened.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kOwnerOnly);
  if (fd >= 0) {
    // The umask may have taken bits, never added any: 0600 or less.
    ::close(fd);
  } else if (errno != EEXIST) {
    return;  // the open that follows names the path and the reason
  }
  for (const char* suffix : {"", "-wal", "-journal", "-shm", "-key"}) tighten(path + suffix);
}

}  // namespace botgate::store
