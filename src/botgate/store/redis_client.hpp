#pragma once
/// A Redis client on Asio: TCP or TLS (rediss://), AUTH and SELECT on connect, pipelining (every
/// command written as soon as it is asked for, the answers matched in order). hiredis only
/// formats the commands and parses the replies; the I/O is Asio's, so that TLS works with a
/// hiredis that has none.

#include "botgate/core/backoff.hpp"
#include "botgate/core/error.hpp"
#include "botgate/store/redis_reply.hpp"
#include "botgate/store/redis_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace botgate::store {

namespace asio = boost::asio;

struct RedisClientOptions {
  /// Resolve, connect, TLS handshake, AUTH and SELECT together.
  std::chrono::milliseconds connect_timeout{5000};
  /// A command whose answer takes longer breaks the connection (a Redis that stopped answering
  /// looks like one that went away): every pending command fails.
  std::chrono::milliseconds command_timeout{10000};
  /// After a lost or refused connection, commands fail at once until this much time passed;
  /// then the next command connects again. The delay grows with each failure in a row.
  BackoffPolicy reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0};
  /// rediss://: a CA file trusted beside the system's (a private CA); empty: the system's only.
  std::string ca_file = {};
};

/// Thread safety: call it on its executor only (a strand or a one-thread io_context). Failures
/// of the connection (refused, lost, timed out, AUTH refused) are errc::store_failed, naming
/// host and port, never the password; every command pending on the connection fails with it.
/// A Redis error reply is not a failure: it comes back as a reply of Type::error.
class RedisClient {
 public:
  /// Throws std::invalid_argument when the TLS CA file cannot be loaded.
  RedisClient(asio::any_io_executor executor, RedisUrl url, RedisClientOptions options = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// One command, e.g. {"SET", "k", "v", "NX"}.
  asio::awaitable<Result<RedisReply>> command(std::vector<std::string> args);
  /// Several commands written together; their replies in their order. Either every reply comes
  /// back, or the call fails (the connection broke: which of them ran is not known).
  asio::awaitable<Result<std::vector<RedisReply>>> pipeline(
      std::vector<std::vector<std::string>> commands);

  /// Closes the connection; pending commands fail. The next command connects again.
  void close();
  /// Connections made (the handshake included) since the client was created: tests see a
  /// reconnect in it.
  std::uint64_t connections() const noexcept;
  const RedisUrl& url() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace botgate::store
