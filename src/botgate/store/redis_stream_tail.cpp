#include "botgate/store/redis_stream_tail.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

namespace botgate::store {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kTick{1000};
/// XREAD BLOCK's wait: a tick is never later than this past its time.
constexpr const char* kBlockMs = "1000";

}  // namespace

RedisStreamTail::RedisStreamTail(asio::any_io_executor executor, const RedisUrl& url,
                                 RedisClientOptions client_options,
                                 RedisStreamTailOptions options)
    : executor_(executor),
      client_(executor, url, std::move(client_options)),
      options_(std::move(options)) {}

asio::awaitable<void> RedisStreamTail::run(std::string after, OnEntry on_entry,
                                           std::function<void()> on_tick) {
  asio::steady_timer pause(executor_);
  std::string& last = after;  // the id of the last entry told; empty: not known yet
  auto last_tick = Clock::now();
  bool failing = false;
  for (;;) {
    if (Clock::now() - last_tick >= kTick) {
      last_tick = Clock::now();
      if (on_tick) on_tick();
    }
    Result<RedisReply> read = Error{errc::store_failed};
    if (last.empty()) {
      // From the newest entry on: the reader needs only what comes after its start.
      std::vector<std::string> newest{"XREVRANGE", options_.key, "+", "-", "COUNT", "1"};
      read = co_await client_.command(std::move(newest));
      if (read && !read->is_error()) {
        last = read->elements.empty() ? "0-0" : read->elements.front().elements.at(0).text;
        continue;
      }
    } else {
      std::vector<std::string> wait{"XREAD", "COUNT", std::to_string(options_.batch), "BLOCK",
                                    kBlockMs, "STREAMS", options_.key, last};
      read = co_await client_.command(std::move(wait));
    }
    if (!read || read->is_error()) {
      if (!failing) {
        spdlog::warn("store: cannot {}: {}", options_.what,
                     read ? read->text : read.error().message());
      }
      failing = true;
      pause.expires_after(kTick);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    failing = false;
    if (!read->is_array() || read->elements.empty()) continue;  // nothing within the block
    for (RedisReply& entry : read->elements.front().elements.at(1).elements) {
      last = entry.elements.at(0).text;
      on_entry(last, entry.elements.at(1));
    }
    if (options_.pause_after_read.count() > 0) {
      pause.expires_after(options_.pause_after_read);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

}  // namespace botgate::store
