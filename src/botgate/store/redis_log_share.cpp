#include "botgate/store/redis_log_share.hpp"


#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <chrono>
#include <vector>
#include <utility>

namespace botgate::store {
namespace {

constexpr std::chrono::seconds kPauseAfterFailure{1};
/// How long changes gather before they are written, and the others' before they are read: a
/// console does not see 20 ms, and a busy bot's log costs a round trip per batch, not per entry.
constexpr std::chrono::milliseconds kBatchEvery{20};
constexpr std::int64_t kMaxAttempts = 1'000'000;

/// Appends `entry`'s fields to an XADD, its strings moved: short names, and the empty ones left
/// out. Fields rather than one JSON document, so that neither side builds or parses JSON for
/// each entry, which every other instance reads.
void append_fields(std::vector<std::string>& command, LogEntry& entry) {
  const auto add = [&](const char* name, std::string value) {
    if (value.empty()) return;
    command.emplace_back(name);
    command.push_back(std::move(value));
  };
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      entry.time.time_since_epoch());
  add("id", std::move(entry.id));
  add("t", std::to_string(ms.count()));
  add("bot", std::move(entry.bot));
  add("pf", std::move(entry.platform));
  add("chat", std::move(entry.chat_id));
  add("in", entry.incoming ? "1" : "0");
  add("user", std::move(entry.user));
  add("text", std::move(entry.text));
  add("out", to_string(entry.outcome));
  add("err", std::move(entry.error));
  add("n", entry.attempts > 0 ? std::to_string(entry.attempts) : std::string());
  add("re", std::move(entry.reply_to));
}

std::int64_t number_in(std::string_view text) {
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

/// The entry a Stream entry's fields hold (append_fields), its strings moved out, in one pass;
/// nullopt without an id, a known outcome or a time, so that a damaged record is dropped.
std::optional<LogEntry> entry_of(RedisReply& fields) {
  LogEntry entry;
  std::optional<LogOutcome> outcome;
  std::int64_t ms = 0;
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const std::string& name = fields.elements[i].text;
    std::string& value = fields.elements[i + 1].text;
    if (name == "id") entry.id = std::move(value);
    else if (name == "t") ms = number_in(value);
    else if (name == "bot") entry.bot = std::move(value);
    else if (name == "pf") entry.platform = std::move(value);
    else if (name == "chat") entry.chat_id = std::move(value);
    else if (name == "in") entry.incoming = value == "1";
    else if (name == "user") entry.user = std::move(value);
    else if (name == "text") entry.text = std::move(value);
    else if (name == "out") outcome = log_outcome_of(value);
    else if (name == "err") entry.error = std::move(value);
    else if (name == "n") entry.attempts = static_cast<int>(std::clamp<std::int64_t>(
                                                number_in(value), 0, kMaxAttempts));
    else if (name == "re") entry.reply_to = std::move(value);
  }
  if (entry.id.empty() || !outcome || ms <= 0) return std::nullopt;
  entry.outcome = *outcome;
  entry.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  return entry;
}

}  // namespace

RedisLogShare::RedisLogShare(asio::io_context& io, RedisClient& client, const RedisUrl& url,
                             RedisClientOptions client_options, RedisLogShareOptions options)
    : io_(io),
      client_(client),
      tail_(io.get_executor(), url, std::move(client_options),
            RedisStreamTailOptions{options.key, "follow the shared message log", 1000,
                                   kBatchEvery}),
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
    pause.expires_after(kBatchEvery);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
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
    for (LogEntry& entry : batch) {
      if (entry.id.empty()) continue;  // superseded by a later change in the batch
      std::vector<std::string> command{"XADD", options_.key, "MAXLEN", "~", length, "*",
                                       "from", options_.token};
      command.reserve(command.size() + 24);
      append_fields(command, entry);
      commands.push_back(std::move(command));
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
  if (fields.elements.size() >= 2 && fields.elements[0].text == "from" &&
      fields.elements[1].text == options_.token) {
    return;  // this object's own (append_fields puts "from" first)
  }
  auto entry = entry_of(fields);
  if (!entry) return;
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_(std::move(*entry));
}

}  // namespace botgate::store
