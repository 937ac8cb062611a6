#pragma once
/// Follows one Redis Stream on a connection of its own with XREAD BLOCK, so that an entry
/// another instance wrote reaches this one a few milliseconds later. The Redis store follows
/// two: `work` (a capped Stream of bot names the scripts that queue work add to: an accept, an
/// outbox push, a completion's replies, a dead letter's retry) and `log` (the event log, whose
/// entries the event stream's clients on every instance must see).
///
/// `on_tick` runs about once a second besides, also while the stream is quiet or Redis is
/// unreachable: the work watch's safety poll, so that a wake-up lost (Redis restarted, the
/// connection broke) delays work by a second, not until the runtime's idle timeout.
///
/// Thread safety: run() on the store's thread (a one-thread io_context).

#include "botgate/store/redis_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace botgate::store {

struct RedisStreamTailOptions {
  std::string key;          ///< the Stream's key, prefix included
  std::string what;         ///< for the log line when Redis cannot be read, e.g. "watch for work"
  std::size_t batch = 100;  ///< entries read at most per XREAD
  /// After a read that found entries, the next waits this long, so that a busy Stream is read
  /// in batches rather than an entry a round trip (for a reader that can wait: the console's
  /// log, not the wake-up).
  std::chrono::milliseconds pause_after_read{0};
};

class RedisStreamTail {
 public:
  /// An entry: its id ("<ms>-<seq>") and its fields, a flat array of names and values, which
  /// the callee may move from (each entry is told once).
  using OnEntry = std::function<void(std::string_view id, RedisReply& fields)>;

  RedisStreamTail(asio::any_io_executor executor, const RedisUrl& url,
                  RedisClientOptions client_options, RedisStreamTailOptions options);

  /// Tells `on_entry` of every entry after `after` ("0-0": from the first; empty: from the ones
  /// added after the first read), in the Stream's order, each once; runs until the io_context
  /// stops. Entries deleted before they were read (a trimmed Stream) are not told.
  asio::awaitable<void> run(std::string after, OnEntry on_entry, std::function<void()> on_tick);

 private:
  asio::any_io_executor executor_;
  RedisClient client_;
  RedisStreamTailOptions options_;
};

}  // namespace botgate::store
