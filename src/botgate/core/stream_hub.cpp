#include "botgate/core/stream_hub.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace botgate {

const char* to_string(StreamEnd end) noexcept {
  switch (end) {
    case StreamEnd::open: return "open";
    case StreamEnd::finished: return "finished";
    case StreamEnd::cut_short: return "cut_short";
  }
  return "open";
}

void StreamHub::open(std::int64_t id, StreamSnapshot start, Label label, std::string progress) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  live_.try_emplace(id, Live{std::move(start), std::move(label), std::move(progress), {}, now,
                            now, {}});
}

Result<StreamHub::Changed> StreamHub::change(std::int64_t id, const StreamChange& change,
                                             std::chrono::milliseconds store_interval) {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) {
    return Error{errc::not_found, "message " + std::to_string(id) + " is not a live stream"};
  }
  Live& live = it->second;
  if (live.state.end != StreamEnd::open) {
    return Error{errc::conflict, "message " + std::to_string(id) + " is a stream that " +
                                     (live.state.end == StreamEnd::finished
                                          ? "was finished"
                                          : "was cut short (its producer stalled or broke off)")};
  }
  const std::size_t size = change.kind == StreamChange::append
                               ? live.state.text.size() + change.text.size()
                               : change.text.size();
  if (size > kMaxStreamBytes) {
    return Error{errc::invalid_argument, "the stream's text would be " + std::to_string(size) +
                                             " bytes; at most " +
                                             std::to_string(kMaxStreamBytes) + " are kept"};
  }
  if (change.kind == StreamChange::append) {
    live.state.text += change.text;
  } else {
    live.state.text = change.text;
  }
  if (change.finish) live.state.end = StreamEnd::finished;
  ++live.state.version;
  live.last_change = Clock::now();
  wake(live);
  const bool store_now =
      change.finish || live.last_change - live.stored_at >= store_interval;
  if (store_now) live.stored_at = live.last_change;
  return Changed{live.state, live.label, store_now};
}

std::optional<StreamSnapshot> StreamHub::cut_short(std::int64_t id, std::string why) {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  Live& live = it->second;
  if (live.state.end == StreamEnd::open) {
    live.state.end = StreamEnd::cut_short;
    live.cut_reason = std::move(why);
    ++live.state.version;
    live.last_change = Clock::now();
    wake(live);
  }
  return live.state;
}

std::string StreamHub::cut_reason(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  return it == live_.end() ? std::string{} : it->second.cut_reason;
}

std::optional<StreamSnapshot> StreamHub::snapshot(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<StreamHub::Label> StreamHub::label(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  return it->second.label;
}

std::string StreamHub::progress(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  return it == live_.end() ? std::string{} : it->second.progress;
}

void StreamHub::set_progress(std::int64_t id, std::string progress) {
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(id); it != live_.end()) it->second.progress = std::move(progress);
}

void StreamHub::wake_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, live] : live_) wake(live);
}

std::optional<StreamHub::Clock::time_point> StreamHub::last_change(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  return it->second.last_change;
}

asio::awaitable<void> StreamHub::wait(std::int64_t id, std::uint64_t seen,
                                      Clock::time_point deadline) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
  {
    std::lock_guard lock(mutex_);
    auto it = live_.find(id);
    if (it == live_.end() || it->second.state.version > seen ||
        it->second.state.end != StreamEnd::open) {
      co_return;
    }
    it->second.waiters.push_back(timer);
  }
  // A change between the unlock and this wait is not lost: its cancel is posted to this
  // executor, so it runs once the wait below has begun.
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(id); it != live_.end()) {
    auto& waiters = it->second.waiters;
    waiters.erase(std::remove(waiters.begin(), waiters.end(), timer), waiters.end());
  }
}

void StreamHub::forget(std::int64_t id) {
  std::lock_guard lock(mutex_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  wake(it->second);
  live_.erase(it);
}

std::size_t StreamHub::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

void StreamHub::wake(Live& live) {
  for (auto& timer : live.waiters) {
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  live.waiters.clear();
}

}  // namespace botgate
