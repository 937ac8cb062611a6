#include "botgate/api/event_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace botgate::api {

EventReader::EventReader(Runtime& runtime, asio::any_io_executor executor, EventFilter filter,
                         std::int64_t after)
    : runtime_(runtime),
      executor_(executor),
      filter_(std::move(filter)),
      position_(after),
      shared_(std::make_shared<Shared>(executor)) {}

EventReader::~EventReader() {
  if (wait_id_ != 0) runtime_.event_feed().end_wait(wait_id_);
}

void EventReader::stop() {
  stopped_ = true;
  shared_->timer.cancel();
}

asio::awaitable<Result<std::vector<EventFeed::Entry>>> EventReader::next(
    std::chrono::steady_clock::time_point deadline) {
  EventFeed& feed = runtime_.event_feed();
  while (!stopped_) {
    if (!ready_.empty()) {
      caught_up_ = ready_complete_;
      co_return std::exchange(ready_, {});
    }
    if (std::exchange(caught_up_, false)) {
      // The last read gave all the feed had: wait at once (the wait says when more came since).
      if (co_await wait(deadline)) continue;
      break;
    }
    const auto reading = std::chrono::steady_clock::now();
    EventFeed::Batch batch = feed.read(position_, filter_, kBatch);
    if (batch.behind) {
      // Behind the window: the store has them (those still retained), in cursor order.
      auto rows = co_await runtime_.events_after(position_, filter_, kBatch);
      if (!rows) co_return rows.error();
      std::vector<EventFeed::Entry> events;
      events.reserve(rows->size());
      for (LoggedEvent& row : *rows) {
        events.push_back(std::make_shared<const LoggedEvent>(std::move(row)));
      }
      if (!events.empty()) position_ = events.back()->cursor;
      // Less than asked for: the store had no more matching ones up to the floor that read()
      // saw, which was taken before the store was read.
      if (events.size() < kBatch) position_ = std::max(position_, batch.window_floor);
      if (!events.empty()) co_return events;
      continue;
    }
    position_ = batch.next_after;
    if (!batch.events.empty()) {
      caught_up_ = batch.events.size() < kBatch;
      spent(std::chrono::steady_clock::now() - reading);
      co_return std::move(batch.events);
    }
    if (!co_await wait(deadline)) break;
  }
  co_return std::vector<EventFeed::Entry>{};
}

void EventReader::spent(std::chrono::steady_clock::duration time) {
  runtime_.wake_rounds().spent(time);
}

void EventReader::wake_in_round(WakeRounds& rounds, std::weak_ptr<Shared> reader) {
  rounds.add([weak = std::move(reader)] {
    auto shared = weak.lock();
    if (!shared) return;
    // On the reader's executor; inline when the round runs on the same thread.
    asio::dispatch(shared->timer.get_executor(), [shared] { shared->timer.cancel(); });
  });
}

asio::awaitable<bool> EventReader::wait(std::chrono::steady_clock::time_point deadline) {
  if (std::chrono::steady_clock::now() >= deadline) co_return false;
  EventFeed& feed = runtime_.event_feed();
  // Everything read: wait for the feed to tell of a matching event (on the publishing thread;
  // the wake-up then waits for the next round), or the deadline. The feed may call this after
  // the reader is gone (it calls outside its lock): it holds the reader's shared part only.
  WakeRounds& rounds = runtime_.wake_rounds();
  wait_id_ = feed.wait(position_, filter_,
                       [&rounds, weak = std::weak_ptr<Shared>(shared_)](std::int64_t) {
                         wake_in_round(rounds, weak);
                       });
  // One came meanwhile: it too goes in the next round, with what else comes until then.
  if (wait_id_ == 0) wake_in_round(rounds, shared_);
  shared_->timer.expires_at(deadline);
  co_await shared_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (wait_id_ != 0) {
    // What matched came with the wait, however far the window moved meanwhile; from `through`
    // on the reader misses nothing. Not woken, nothing matched up to the head: a client of a
    // quiet chat thus stays in the window however busy the others are.
    const auto ending = std::chrono::steady_clock::now();
    EventFeed::WaitEnd end = feed.end_wait(std::exchange(wait_id_, 0));
    position_ = std::max(position_, end.through);
    ready_ = std::move(end.events);
    ready_complete_ = !end.more;
    spent(std::chrono::steady_clock::now() - ending);
  }
  co_return true;
}

}  // namespace botgate::api
