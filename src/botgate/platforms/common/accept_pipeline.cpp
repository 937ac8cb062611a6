#include "botgate/platforms/common/accept_pipeline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <deque>
#include <exception>
#include <utility>

namespace botgate::platforms {

struct AcceptPipeline::State {
  State(asio::any_io_executor executor, std::size_t limit)
      : strand(std::move(executor)),
        changed(strand, asio::steady_timer::time_point::max()),
        max_in_flight(limit == 0 ? 1 : limit) {}

  struct Checkpoint {
    std::uint64_t events_before = 0;  // the accepts submitted before the frame ended
    GatewaySession session;
  };

  asio::any_io_executor strand;
  /// Never expires: cancelling it wakes whoever waits for an accept to finish.
  asio::steady_timer changed;
  std::size_t max_in_flight;
  EventSource::Accept accept;
  std::function<void()> on_failure;

  std::uint64_t submitted = 0;
  /// Every accept with a smaller index succeeded.
  std::uint64_t durable_before = 0;
  /// Accepts [durable_before, submitted): true once succeeded.
  std::deque<bool> succeeded;
  std::size_t outstanding = 0;
  std::deque<Checkpoint> checkpoints;
  std::optional<GatewaySession> durable;
  std::optional<Error> failure;

  void finished(std::uint64_t index, Result<bool> result) {
    --outstanding;
    if (result) {
      succeeded[index - durable_before] = true;
      advance();
    } else if (!failure) {
      // The failed accept never counts as succeeded, so no checkpoint after it becomes durable.
      failure = std::move(result).error();
      changed.cancel();
      if (on_failure) on_failure();
      return;
    }
    changed.cancel();
  }

  void advance() {
    while (!succeeded.empty() && succeeded.front()) {
      succeeded.pop_front();
      ++durable_before;
    }
    while (!checkpoints.empty() && checkpoints.front().events_before <= durable_before) {
      durable = std::move(checkpoints.front().session);
      checkpoints.pop_front();
    }
  }

  asio::awaitable<void> wait_for_change() {
    co_await changed.async_wait(asio::as_tuple(asio::use_awaitable));
  }
};

asio::awaitable<void> AcceptPipeline::accept_one(std::shared_ptr<State> state,
                                                std::uint64_t index, Event event) {
  Result<bool> result = Error{errc::store_failed, "the accept did not finish"};
  try {
    result = co_await state->accept(std::move(event));
  } catch (const std::exception& e) {
    result = Error{errc::store_failed, e.what()};
  }
  state->finished(index, std::move(result));
}

AcceptPipeline::AcceptPipeline(asio::any_io_executor strand, std::size_t max_in_flight)
    : state_(std::make_shared<State>(std::move(strand), max_in_flight)) {}

AcceptPipeline::~AcceptPipeline() = default;

void AcceptPipeline::set_accept(EventSource::Accept accept) { state_->accept = std::move(accept); }

void AcceptPipeline::set_on_failure(std::function<void()> on_failure) {
  state_->on_failure = std::move(on_failure);
}

asio::awaitable<void> AcceptPipeline::submit(Event event) {
  State& s = *state_;
  while (s.outstanding >= s.max_in_flight) {
    co_await s.wait_for_change();
  }
  const std::uint64_t index = s.submitted++;
  s.succeeded.push_back(false);
  ++s.outstanding;
  // Posted in submission order on the strand, so the store sees the events in gateway order.
  asio::co_spawn(s.strand, accept_one(state_, index, std::move(event)), asio::detached);
}

void AcceptPipeline::checkpoint(GatewaySession session) {
  State& s = *state_;
  if (!s.checkpoints.empty() && s.checkpoints.back().events_before == s.submitted) {
    // No event since the previous frame (a heartbeat ACK): one checkpoint stands for both.
    s.checkpoints.back().session = std::move(session);
  } else {
    s.checkpoints.push_back(State::Checkpoint{s.submitted, std::move(session)});
  }
  s.advance();
}

std::optional<GatewaySession> AcceptPipeline::take_durable() {
  return std::exchange(state_->durable, std::nullopt);
}

const std::optional<Error>& AcceptPipeline::failure() const { return state_->failure; }

asio::awaitable<void> AcceptPipeline::drain() {
  while (state_->outstanding > 0) {
    co_await state_->wait_for_change();
  }
}

void AcceptPipeline::reset() {
  State& s = *state_;
  s.succeeded.clear();
  s.durable_before = s.submitted;
  s.checkpoints.clear();
  s.failure.reset();
}

}  // namespace botgate::platforms
