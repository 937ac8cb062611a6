#include "botgate/store/redis_log_share.hpp"

#include "botgate/core/json_fields.hpp"
#include "botgate/core/log_entry_json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <vector>
#include <utility>

namespace botgate::store {
namespace {

constexpr std::chrono::seconds kPauseAfterFailure{1};

}  // namespace

RedisLogShare::RedisLogShare(asio::io_context& io, RedisClient& client, const RedisUrl& url,
                             RedisClientOptions client_options, RedisLogShareOptions options)
    : io_(io),
      client_(client),
      tail_(io.get_executor(), url, std::move(client_options),
            RedisStreamTailOptions{options.key, "follow the shared message log", 500}),
      options_(std::move(options)) {
  options_.length = std::max<std::size_t>(options_.length, 1);
}

void RedisLogShare::share(const LogEntry& entry) {
  if (entry.id.empty()) return;  // an empty id marks a gap
  std::lock_guard lock(buffer_mutex_);
  if (auto it = buffered_.find(entry.id); it != buffered_.end()) {
    // Superseded: its place becomes a gap, and the entry goes last, so that the entries are
    // written in the order of their last changes (the order of the sharing log's seqs).
    buffer_[it->second - first_].id.clear();
    buffered_.erase(it);
    --live_;
  }
  while (!buffer_.empty() && (buffer_.front().id.empty() || live_ == options_.length)) {
    if (!buffer_.front().id.empty()) {
      buffered_.erase(buffer_.front().id);
      --live_;
    }
    buffer_.pop_front();
    ++first_;
  }
  buffered_.emplace(entry.id, first_ + buffer_.size());
  buffer_.push_back(entry);
  ++live_;
  if (buffer_.size() > 2 * live_ + 64) drop_gaps();
  if (writing_) return;
  writing_ = true;
  // Posted, so that the loop never starts inside this call, under buffer_mutex_.
  asio::post(io_, [this] { asio::co_spawn(io_, write_loop(), asio::detached); });
}

void RedisLogShare::drop_gaps() {
  std::deque<LogEntry> kept;
  for (LogEntry& entry : buffer_) {
    if (entry.id.empty()) continue;
    buffered_[entry.id] = kept.size();
    kept.push_back(std::move(entry));
  }
  buffer_.swap(kept);
  first_ = 0;
}

asio::awaitable<void> RedisLogShare::write_loop() {
  const std::string length = std::to_string(options_.length);
  asio::steady_timer pause(io_);
  bool failing = false;
  for (;;) {
    std::deque<LogEntry> batch;
    {
      std::lock_guard lock(buffer_mutex_);
      if (buffer_.empty()) {
        writing_ = false;
        co_return;
      }
      batch.swap(buffer_);
      buffered_.clear();
      first_ = 0;
      live_ = 0;
    }
    std::vector<std::vector<std::string>> commands;
    commands.reserve(batch.size());
    for (const LogEntry& entry : batch) {
      if (entry.id.empty()) continue;  // superseded by a later change in the batch
      commands.push_back({"XADD", options_.key, "MAXLEN", "~", length, "*", "from",
                          options_.token, "e", boost::json::serialize(log_entry_json(entry))});
    }
    auto written = co_await client_.pipeline(std::move(commands));
    std::string problem;
    if (!written) {
      problem = written.error().message();
    } else {
      auto refused = std::find_if(written->begin(), written->end(),
                                  [](const RedisReply& reply) { return reply.is_error(); });
      if (refused != written->end()) problem = refused->text;
    }
    if (problem.empty()) {
      failing = false;
      continue;
    }
    // The log is not durable: what could not be written is dropped, said once per failure, and
    // the next write waits a little, so that a Redis away costs no busy loop.
    if (!failing) {
      spdlog::warn("store: cannot share the message log with the other instances: {}", problem);
    }
    failing = true;
    pause.expires_after(kPauseAfterFailure);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void RedisLogShare::watch(LogListener listener) {
  std::lock_guard lock(listener_mutex_);
  const bool start = listener && !tailing_;
  listener_ = std::move(listener);
  if (!start) return;
  tailing_ = true;
  asio::co_spawn(io_, tail_loop(), asio::detached);
}

asio::awaitable<void> RedisLogShare::tail_loop() {
  // The recent entries first, oldest first; then every entry after the newest of them. When
  // they cannot be read (Redis is away), the tail starts with what comes after it is back.
  std::string after;
  std::vector<std::string> recent{"XREVRANGE", options_.key, "+", "-", "COUNT",
                                  std::to_string(options_.length)};
  auto read = co_await client_.command(std::move(recent));
  if (read && read->is_array()) {
    after = read->elements.empty() ? "0-0" : read->elements.front().elements.at(0).text;
    for (auto it = read->elements.rbegin(); it != read->elements.rend(); ++it) {
      tell(it->elements.at(1));
    }
  }
  co_await tail_.run(
      std::move(after), [this](std::string_view, RedisReply& fields) { tell(fields); }, nullptr);
}

void RedisLogShare::tell(RedisReply& fields) {
  if (take_field(fields, "from") == options_.token) return;
  auto object = parse_object(take_field(fields, "e"));
  if (!object) return;
  auto entry = log_entry_from_json(*object);
  if (!entry) return;
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_(std::move(*entry));
}

}  // namespace botgate::store
