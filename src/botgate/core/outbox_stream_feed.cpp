#include "botgate/core/outbox_stream_feed.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate {
namespace {
/// A waiting sender looks at `stopping` at least this often: a stop that comes between its
/// check and its wait is not missed for longer.
constexpr std::chrono::seconds kStopCheck{1};
}  // namespace

OutboxStreamFeed::OutboxStreamFeed(StreamHub& hub, Store& store, std::int64_t id,
                                   std::chrono::milliseconds stall,
                                   const std::atomic<bool>& stopping)
    : hub_(hub), store_(store), id_(id), stall_(stall), stopping_(stopping),
      progress_(hub.progress(id)) {}

asio::awaitable<Result<StreamSnapshot>> OutboxStreamFeed::next(std::uint64_t seen) {
  for (;;) {
    if (stopping_) co_return Error{errc::cancelled, "botgate stops"};
    auto state = hub_.snapshot(id_);
    if (!state) co_return Error{errc::cancelled, "the stream is no longer live"};
    if (state->version > seen || state->end != StreamEnd::open) co_return std::move(*state);
    const auto last = hub_.last_change(id_).value_or(StreamHub::Clock::now());
    const auto stalled_at = last + stall_;
    const auto now = StreamHub::Clock::now();
    if (now >= stalled_at) {
      auto cut = hub_.cut_short(id_);
      if (!cut) continue;
      spdlog::warn("stream {}: no change for {} s: finished with the {} bytes it has, cut short",
                   id_, stall_.count() / 1000, cut->text.size());
      // Written before it is shown as ended: a restart then knows it ended, and how.
      auto stored = co_await store_.outbox_stream_text(id_, cut->text, cut->end);
      if (!stored) co_return stored.error();
      co_return std::move(*cut);
    }
    co_await hub_.wait(id_, seen, std::min(stalled_at, now + kStopCheck));
  }
}

asio::awaitable<Result<void>> OutboxStreamFeed::save_progress(std::string progress) {
  auto saved = co_await store_.outbox_stream_progress(id_, progress);
  if (!saved) co_return saved.error();
  hub_.set_progress(id_, progress);
  progress_ = std::move(progress);
  co_return Result<void>{};
}

}  // namespace botgate
