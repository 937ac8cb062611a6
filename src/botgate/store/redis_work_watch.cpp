#include "botgate/store/redis_work_watch.hpp"

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

RedisWorkWatch::RedisWorkWatch(asio::any_io_executor executor, const RedisUrl& url,
                               RedisClientOptions options, std::string prefix)
    : executor_(executor), client_(executor, url, std::move(options)), key_(prefix + "work") {}

asio::awaitable<void> RedisWorkWatch::run(std::function<void(const std::string& bot)> on_work,
                                          std::function<void()> on_tick) {
  asio::steady_timer pause(executor_);
  std::string last;  // the id of the last entry read; empty: not known yet
  auto last_tick = Clock::now();
  bool failing = false;
  for (;;) {
    if (Clock::now() - last_tick >= kTick) {
      last_tick = Clock::now();
      on_tick();
    }
    Result<RedisReply> read = Error{errc::store_failed};
    if (last.empty()) {
      // From the newest entry on: what was queued before this object started, its first takes
      // find anyway.
      std::vector<std::string> newest{"XREVRANGE", key_, "+", "-", "COUNT", "1"};
      read = co_await client_.command(std::move(newest));
      if (read && !read->is_error()) {
        last = read->elements.empty() ? "0-0" : read->elements.front().elements.at(0).text;
        continue;
      }
    } else {
      std::vector<std::string> wait{"XREAD", "COUNT", "100", "BLOCK", kBlockMs, "STREAMS", key_,
                                    last};
      read = co_await client_.command(std::move(wait));
    }
    if (!read || read->is_error()) {
      if (!failing) {
        spdlog::warn("store: cannot watch for other instances' work: {}",
                     read ? read->text : read.error().message());
      }
      failing = true;
      pause.expires_after(kTick);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    failing = false;
    if (!read->is_array() || read->elements.empty()) continue;  // nothing within the block
    for (const RedisReply& entry : read->elements.front().elements.at(1).elements) {
      last = entry.elements.at(0).text;
      const RedisReply& fields = entry.elements.at(1);
      for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].text == "bot") on_work(fields.elements[i + 1].text);
      }
    }
  }
}

}  // namespace botgate::store
