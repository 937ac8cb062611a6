#pragma once
/// A real redis-server for the tests, started on a free loopback port in a temp folder with no
/// persistence, and stopped (and its folder removed) with the object. Debian's redis-server
/// (`make deps`); when it is missing the constructor throws saying so: a test never skips.

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace botgate::test {

struct RedisServerOptions {
  /// Listen with TLS only (tests/testdata/net's certificates; clients are not asked for one).
  bool tls = false;
  /// requirepass: the default user's password (empty: none).
  std::string password = {};
  /// An ACL user with every right, besides the default user (empty: none).
  std::string user = {};
  std::string user_password = {};
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// "redis://127.0.0.1:PORT/db" (rediss:// for a TLS server), with no credentials.
  std::string url(int db = 0) const;
  /// Stops the server (SIGTERM, and waits for it); start() brings it back on the same port.
  void stop();
  void start();
  /// Kills the server at once (SIGKILL): a crash, not a shutdown.
  void kill();
  bool running() const noexcept { return pid_ > 0; }

 private:
  RedisServerOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace botgate::test
