#include "botgate/core/wake_rounds.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <utility>

namespace botgate {

WakeRounds::WakeRounds(asio::any_io_executor executor, WakeRoundsOptions options)
    : executor_(asio::make_strand(executor)),
      options_(options),
      state_(std::make_shared<State>(executor_)) {}

WakeRounds::~WakeRounds() {
  // A posted schedule() holds only a weak reference; the timer's wait ends cancelled.
  state_->timer.cancel();
}

void WakeRounds::add(std::function<void()> wake) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(wake));
    if (std::exchange(scheduled_, true)) return;
  }
  asio::post(executor_, [this, weak = std::weak_ptr<State>(state_)] {
    if (weak.lock()) schedule();
  });
}

void WakeRounds::spent(std::chrono::steady_clock::duration time) {
  spent_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(time).count(),
                      std::memory_order_relaxed);
}

void WakeRounds::schedule() {
  if (std::chrono::steady_clock::now() >= not_before_) {
    run_round();
    return;
  }
  state_->timer.expires_at(not_before_);
  state_->timer.async_wait([this, weak = std::weak_ptr<State>(state_)](auto) {
    if (weak.lock()) run_round();
  });
}

void WakeRounds::run_round() {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lock(mutex_);
    wakes.swap(pending_);
    scheduled_ = false;
  }
  rounds_.fetch_add(1, std::memory_order_relaxed);
  // What the clients woken by the round before took: with `share` of the thread theirs, the
  // rest of the time goes to everything else before the next round.
  const double spent = static_cast<double>(spent_ns_.exchange(0, std::memory_order_relaxed));
  const auto rest = std::chrono::nanoseconds(
      static_cast<std::int64_t>(spent * (1.0 - options_.share) / options_.share));
  const std::chrono::steady_clock::duration gap =
      std::max<std::chrono::steady_clock::duration>(options_.min_gap,
                                                    std::min<std::chrono::steady_clock::duration>(rest, options_.max_gap));
  not_before_ = start + gap;
  for (auto& wake : wakes) wake();
}

}  // namespace botgate
