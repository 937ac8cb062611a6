#pragma once
/// The message log shared between the instances on one Redis (Store::share_log, watch_log),
/// so that every instance's console shows every instance's events and replies. Key, under the
/// store's prefix:
///   msglog   a Stream capped near `length` entries: from=<the store object's token>, then
///            the entry's fields under short names (id, t in ms, bot, pf, chat, in, user, text,
///            out, err, n, re; empty ones left out)
/// An entry shared is buffered and written 20 ms later with the others shared meanwhile, in one
/// pipeline (the other instances read the Stream every 20 ms too: a busy bot's log costs a
/// round trip a batch, not an entry); a later change of an entry still waiting supersedes it (a streamed reply that grows by many small steps costs one
/// write per round, not one per step). Entries are written in the order of their last changes.
/// The buffer keeps at most `length` entries, as the Stream does: when Redis is away, the
/// oldest are dropped, never the process's memory.
///
/// Thread safety: share() and watch() from any thread; the rest on the store's thread.

#include "botgate/core/store.hpp"
#include "botgate/store/redis_client.hpp"
#include "botgate/store/redis_stream_tail.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace botgate::store {

struct RedisLogShareOptions {
  std::string key;           ///< the Stream's key, prefix included
  std::string token;         ///< this store object's: its own entries are not told back to it
  std::size_t length = 2000;  ///< entries kept (the console's log holds as many)
};

class RedisLogShare {
 public:
  /// `client`: the store's own connection, on `io`'s one thread; the tail gets one of its own.
  RedisLogShare(asio::io_context& io, RedisClient& client, const RedisUrl& url,
                RedisClientOptions client_options, RedisLogShareOptions options);

  void share(const LogEntry& entry);
  /// As Store::watch_log. The first listener starts the tail: the recent entries first.
  void watch(LogListener listener);

 private:
  asio::awaitable<void> write_loop();
  asio::awaitable<void> tail_loop();
  void tell(RedisReply& fields);  // an entry of the Stream, on the store's thread

  asio::io_context& io_;
  RedisClient& client_;
  RedisStreamTail tail_;
  RedisLogShareOptions options_;

  /// Under buffer_mutex_: rebuilds buffer_ without the superseded entries' gaps.
  void drop_gaps();

  std::mutex buffer_mutex_;  // guards the five below
  std::deque<LogEntry> buffer_;  // oldest first; an empty id: superseded by a later change
  std::uint64_t first_ = 0;  // the number of buffer_.front() among the entries buffered
  std::unordered_map<std::string, std::uint64_t> buffered_;  // id -> its entry's number
  std::size_t live_ = 0;  // the entries in buffer_ not superseded
  bool writing_ = false;  // write_loop() runs, and will take what is in buffer_

  // Apart from buffer_mutex_: share() is called under the message log's lock, and the listener
  // takes that lock.
  std::mutex listener_mutex_;  // guards the two below
  LogListener listener_;
  bool tailing_ = false;
};

}  // namespace botgate::store
