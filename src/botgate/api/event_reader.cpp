#include "botgate/api/event_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace botgate::api {

EventReader::EventReader(Runtime& runtime, asio::any_io_executor executor, EventFilter filter,
                         std::int64_t after, std::chrono::milliseconds min_interval)
    : runtime_(runtime),
      executor_(executor),
      filter_(std::move(filter)),
      position_(after),
      shared_(std::make_shared<Shared>(executor)),
      min_interval_(min_interval) {}

EventReader::~EventReader() {
  if (wait_id_ != 0) runtime_.event_feed().cancel_wait(wait_id_);
}

void EventReader::stop() {
  stopped_ = true;
  shared_->timer.cancel();
}

asio::awaitable<Result<std::vector<EventFeed::Entry>>> EventReader::next(
    std::chrono::steady_clock::time_point deadline) {
  EventFeed& feed = runtime_.event_feed();
  while (!stopped_) {
    if (std::exchange(caught_up_, false)) {
      // The last read gave all the feed had: wait at once (the wait says when more came since).
      if (co_await wait(deadline)) continue;
      break;
    }
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
      not_before_ = std::chrono::steady_clock::now() + min_interval_;
      co_return std::move(batch.events);
    }
    if (!co_await wait(deadline)) break;
  }
  co_return std::vector<EventFeed::Entry>{};
}

asio::awaitable<bool> EventReader::wait(std::chrono::steady_clock::time_point deadline) {
  if (std::chrono::steady_clock::now() >= deadline) co_return false;
  EventFeed& feed = runtime_.event_feed();
  // Everything read: wait for the feed (on the publishing thread, the wake-up only posts the
  // timer's cancel here) or the deadline.
  std::weak_ptr<Shared> weak = shared_;
  shared_->woken_by = 0;
  wait_id_ = feed.wait(position_, filter_, [weak, executor = executor_](std::int64_t cursor) {
    asio::post(executor, [weak, cursor] {
      if (auto shared = weak.lock()) {
        shared->woken_by = cursor;
        shared->timer.cancel();
      }
    });
  });
  if (wait_id_ == 0) {  // one came meanwhile
    co_await pace();
    co_return true;
  }
  shared_->timer.expires_at(deadline);
  co_await shared_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  // Nothing this client wants came before the event that woke it, or, not woken, up to the
  // head: skip those. A client of a quiet chat thus stays in the window however busy the
  // others are, instead of reading the busy chats' events from the store after each wait.
  const std::int64_t quiet_through = feed.cancel_wait(std::exchange(wait_id_, 0));
  position_ = std::max({position_, quiet_through, shared_->woken_by - 1});
  if (shared_->woken_by != 0) co_await pace();
  co_return true;
}

asio::awaitable<void> EventReader::pace() {
  if (stopped_ || std::chrono::steady_clock::now() >= not_before_) co_return;
  // Woken by an event sooner than kMinInterval after the last batch: the rest of the interval
  // gathers what else comes for this client into the same batch.
  shared_->timer.expires_at(not_before_);
  co_await shared_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace botgate::api
