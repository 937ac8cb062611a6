#pragma once
/// Wake-ups of event-stream clients, given in rounds paced to what the clients cost.
///
/// Each stream client woken for a new event reads it, formats it and writes it to its socket: a
/// system call, and on loopback the receiver's TCP work too, on the thread that also takes the
/// platforms' callbacks. One write per event per client (1,000 clients each following a busy
/// chat) cost ingress a quarter of its speed. So wake-ups are not given one by one as events are
/// published: they are gathered and given together in a round, and the next round comes no
/// sooner than the clients' share of the thread allows: the time they reported since the last
/// round (spent()) over `share`. A client woken in a round takes every event that came for it
/// since its last batch, so the busier the machine, the larger and fewer the writes; on a quiet
/// machine a round follows an event at once, `min_gap` at most after the one before.
///
/// Thread safety: add() and spent() from any thread; rounds run on a strand of the executor given.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace botgate {

namespace asio = boost::asio;

struct WakeRoundsOptions {
  /// The least time between the starts of two rounds.
  std::chrono::milliseconds min_gap{10};
  /// The share of a thread's time the woken clients may take, measured by what they report.
  /// Their reports leave out the wake-up itself (the feed's lock, the coroutine's resumption,
  /// the caches they cool), about as much again: 2.5 % measured kept 1,000 clients at about 6 %
  /// of a saturated thread in `make bench`.
  double share = 0.025;
  /// The most time between two rounds, however much the clients took (min_gap wins over it).
  std::chrono::milliseconds max_gap{250};
};

class WakeRounds {
 public:
  explicit WakeRounds(asio::any_io_executor executor, WakeRoundsOptions options = {});
  ~WakeRounds();
  WakeRounds(const WakeRounds&) = delete;
  WakeRounds& operator=(const WakeRounds&) = delete;

  /// Calls `wake` in the next round, on the rounds' executor.
  void add(std::function<void()> wake);
  /// A woken client reports the time it took to deliver what it was woken for.
  void spent(std::chrono::steady_clock::duration time);

  /// Rounds run so far (for tests and the status view).
  std::uint64_t rounds() const noexcept { return rounds_.load(std::memory_order_relaxed); }

 private:
  /// What the pending round's timer may still reach after this is gone.
  struct State {
    explicit State(asio::any_io_executor executor) : timer(std::move(executor)) {}
    asio::steady_timer timer;
  };
  /// On the executor: runs the round now, or arms the timer for when it may run.
  void schedule();
  void run_round();

  asio::any_io_executor executor_;
  WakeRoundsOptions options_;
  std::shared_ptr<State> state_;
  std::mutex mutex_;  // guards the two below
  std::vector<std::function<void()>> pending_;
  bool scheduled_ = false;
  /// On the executor only: when the next round may start.
  std::chrono::steady_clock::time_point not_before_{};
  std::atomic<std::int64_t> spent_ns_{0};
  std::atomic<std::uint64_t> rounds_{0};
};

}  // namespace botgate
