#include "botgate/store/store_key.hpp"

#include "botgate/crypto/encoding.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace botgate::store {
namespace {

constexpr std::size_t kKeyBytes = 32;

[[noreturn]] void fail(const std::string& path, std::string_view what) {
  throw std::runtime_error("the store key '" + path + "' " + std::string(what));
}

/// The key in the file at `path`; nullopt when there is no such file.
std::optional<std::string> read_key(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(path, std::string("cannot be read: ") + std::strerror(errno));
  }
  char buffer[256];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n < 0) fail(path, std::string("cannot be read: ") + std::strerror(errno));
  std::string_view text(buffer, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  auto key = crypto::from_hex(text);
  if (!key || key->size() != kKeyBytes) {
    fail(path, "does not hold a key (64 hex digits); the database's reply credentials cannot be "
               "read without the file it was made with");
  }
  return key;
}

}  // namespace

std::string store_key_path(const std::string& database_path) { return database_path + "-key"; }

std::string load_or_create_store_key(const std::string& database_path) {
  const std::string path = store_key_path(database_path);
  if (auto key = read_key(path)) return std::move(*key);
  std::string key = crypto::random_bytes(kKeyBytes);
  // O_EXCL: two processes starting at once agree on the first key written.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) {
      if (auto theirs = read_key(path)) return std::move(*theirs);
    }
    fail(path, std::string("cannot be created: ") + std::strerror(errno));
  }
  const std::string text = crypto::to_hex(key) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    ::unlink(path.c_str());
    fail(path, "cannot be written");
  }
  spdlog::info("store: made the key that seals reply credentials at rest: {}", path);
  return key;
}

}  // namespace botgate::store
