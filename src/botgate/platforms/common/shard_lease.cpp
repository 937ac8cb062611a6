#include "botgate/platforms/common/shard_lease.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace botgate::platforms {
namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

struct ShardLease::State {
  State(asio::any_io_executor strand, Store& s, std::string n, std::string h, std::string l,
        std::chrono::milliseconds t)
      : store(s),
        name(std::move(n)),
        holder(std::move(h)),
        label(std::move(l)),
        ttl(t),
        timer(strand) {}

  Store& store;
  const std::string name;
  const std::string holder;
  const std::string label;
  const std::chrono::milliseconds ttl;
  asio::steady_timer timer;  // between renewals
  bool active = false;       // held, and renewing
  std::int64_t epoch = 0;
  /// Until when the lease is surely ours: the store counts its ttl from when it received the
  /// request, which is after this process sent it. A margin covers the clocks' rates.
  SteadyClock::time_point valid_until{};
  std::uint64_t generation = 0;  // of the current holding: a stale renewing loop ends
  std::function<void()> on_lost;

  void extend(SteadyClock::time_point sent_at) { valid_until = sent_at + ttl - ttl / 5; }

  void lose(const std::string& why) {
    if (!active) return;
    active = false;
    spdlog::warn("{}: lost the lease {} ({}): closing the connection", label, name, why);
    timer.cancel();
    if (auto callback = std::move(on_lost)) callback();
  }
};

ShardLease::ShardLease(asio::any_io_executor strand, Store& store, std::string name,
                       std::string holder, std::string label, std::chrono::milliseconds ttl)
    : state_(std::make_shared<State>(std::move(strand), store, std::move(name), std::move(holder),
                                     std::move(label), ttl)) {}

ShardLease::~ShardLease() {
  // The renewing loop holds the state; without a holding it ends at its next wake-up.
  state_->active = false;
  state_->on_lost = nullptr;
  state_->timer.cancel();
}

const std::string& ShardLease::name() const noexcept { return state_->name; }

bool ShardLease::held() const {
  return state_->active && SteadyClock::now() < state_->valid_until;
}

asio::awaitable<bool> ShardLease::try_acquire(std::function<void()> on_lost) {
  State& s = *state_;
  const auto sent_at = SteadyClock::now();
  auto lease = co_await s.store.lease_acquire(s.name, s.holder, s.ttl);
  if (!lease) {
    spdlog::warn("{}: cannot take the lease {}: {}", s.label, s.name, lease.error().message());
    co_return false;
  }
  if (!*lease) co_return false;
  s.active = true;
  s.epoch = (*lease)->epoch;
  s.extend(sent_at);
  s.on_lost = std::move(on_lost);
  const std::uint64_t generation = ++s.generation;
  spdlog::info("{}: holding the lease {} (epoch {})", s.label, s.name, s.epoch);
  asio::co_spawn(s.timer.get_executor(), keep_renewing(state_, generation), asio::detached);
  co_return true;
}

asio::awaitable<void> ShardLease::release() {
  State& s = *state_;
  if (!s.active) co_return;
  s.active = false;
  s.on_lost = nullptr;
  s.timer.cancel();
  auto released = co_await s.store.lease_release(s.name, s.holder, s.epoch);
  if (!released) {
    spdlog::warn("{}: cannot free the lease {} ({}); it expires by itself", s.label, s.name,
                 released.error().message());
  }
}

asio::awaitable<void> ShardLease::keep_renewing(std::shared_ptr<State> state,
                                              std::uint64_t generation) {
  State& s = *state;
  auto current = [&] { return s.active && s.generation == generation; };
  while (current()) {
    // A third of the ttl: two renewals may fail (a slow store) before the lease is at risk.
    // After a failure, sooner, as long as the lease is still ours.
    const auto wait = std::min<SteadyClock::duration>(
        s.ttl / 3, std::max<SteadyClock::duration>(s.valid_until - SteadyClock::now(),
                                                   SteadyClock::duration::zero()));
    s.timer.expires_after(wait);
    co_await s.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!current()) co_return;
    if (SteadyClock::now() >= s.valid_until) {
      s.lose("not renewed in time");
      co_return;
    }
    const auto sent_at = SteadyClock::now();
    auto renewed = co_await s.store.lease_renew(s.name, s.holder, s.epoch, s.ttl);
    if (!current()) co_return;
    if (!renewed) {
      spdlog::warn("{}: cannot renew the lease {}: {}", s.label, s.name,
                   renewed.error().message());
      continue;
    }
    if (!*renewed) {
      s.lose("another instance may hold it");
      co_return;
    }
    s.extend(sent_at);
  }
}

}  // namespace botgate::platforms
