#pragma once
/// How an instance on Redis learns of work another instance queued for a bot: the scripts that
/// queue work (an accept, an outbox push, a completion's replies, a dead letter's retry) add the
/// bot's name to the stream `work` (capped at about 1000 entries), and each store object reads
/// that stream with XREAD BLOCK on a connection of its own, telling `on_work` of each entry as
/// it comes (a few milliseconds after the write). `on_tick` runs about once a second besides:
/// the safety poll, so that a wake-up lost (Redis restarted, the connection broke) delays work
/// by a second, not until the runtime's idle timeout.
///
/// Thread safety: run() on the store's thread (a one-thread io_context).

#include "botgate/store/redis_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace botgate::store {

class RedisWorkWatch {
 public:
  RedisWorkWatch(asio::any_io_executor executor, const RedisUrl& url,
                 RedisClientOptions options, std::string prefix);

  /// Runs until the io_context stops.
  asio::awaitable<void> run(std::function<void(const std::string& bot)> on_work,
                            std::function<void()> on_tick);

 private:
  asio::any_io_executor executor_;
  RedisClient client_;
  std::string key_;
};

}  // namespace botgate::store
