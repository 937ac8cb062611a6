#include "support/redis_server.hpp"

#include "support/testdata.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

namespace botgate::test {

namespace {

constexpr const char* kMissing =
    "redis-server was not found: the Redis store's tests need Debian's redis-server "
    "(run `make deps`)";

bool redis_server_installed() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    if (::access((std::string(dir) + "/redis-server").c_str(), X_OK) == 0) return true;
  }
  return false;
}

/// A port that was free a moment ago (the kernel's choice for port 0).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  if (!redis_server_installed()) throw std::runtime_error(kMissing);
  std::string pattern = (std::filesystem::temp_directory_path() / "botgate-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  // Tests run side by side (ctest -j): another may take the port between free_port() and the
  // server's bind, so a server that exits at start gets another port, a few times.
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 5) throw;
    }
  }
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::url(int db) const {
  return std::string(options_.tls ? "rediss" : "redis") + "://127.0.0.1:" + std::to_string(port_) +
         "/" + std::to_string(db);
}

void RedisServer::start() {
  if (pid_ > 0) return;
  const std::string port = std::to_string(port_);
  std::vector<std::string> args = {"redis-server", "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", dir_, "--daemonize", "no",
                                   "--loglevel", "warning", "--logfile",
                                   dir_ + "/redis.log"};
  if (options_.tls) {
    args.insert(args.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file",
                             testdata_path("net/server.pem"), "--tls-key-file",
                             testdata_path("net/server.key"), "--tls-ca-cert-file",
                             testdata_path("net/ca.pem"), "--tls-auth-clients", "no"});
  } else {
    args.insert(args.end(), {"--port", port});
  }
  if (!options_.user.empty()) {
    // An ACL rule is one config line of several words: a command-line argument would be split.
    const std::string conf = dir_ + "/users.acl";
    std::FILE* file = std::fopen(conf.c_str(), "w");
    if (file == nullptr) throw std::runtime_error("cannot write " + conf);
    std::fprintf(file, "user %s on >%s ~* &* +@all\n", options_.user.c_str(),
                 options_.user_password.c_str());
    if (!options_.password.empty()) {
      std::fprintf(file, "user default on >%s ~* &* +@all\n", options_.password.c_str());
    }
    std::fclose(file);
    args.insert(args.end(), {"--aclfile", conf});
  } else if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!accepts_connections(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start (see " + dir_ + "/redis.log)");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill();
      throw std::runtime_error("redis-server did not listen within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace botgate::test
