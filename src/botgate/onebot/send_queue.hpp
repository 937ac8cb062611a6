#pragma once
/// What one forward WebSocket connection has still to write: the bot's events, bounded so that
/// a framework that reads slowly (or not at all) costs a bounded amount of memory and is
/// closed instead of holding the bot back, and the answers to its own actions, which it asked
/// for one at a time. Pure; the connection guards it with its mutex.

#include "botgate/onebot/delivery.hpp"

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace botgate::onebot {

class SendQueue {
 public:
  struct Item {
    std::string frame;
    std::shared_ptr<Delivery> delivery;  // null for an answer
  };

  SendQueue(std::size_t max_events, std::size_t max_bytes)
      : max_events_(max_events), max_bytes_(max_bytes) {}

  /// Queues an event; false (and nothing queued) when that would pass either bound.
  [[nodiscard]] bool push_event(std::string frame, std::shared_ptr<Delivery> delivery);
  /// Queues an action's answer (never refused: one per action, and actions wait for it).
  void push_answer(std::string frame);
  /// The oldest item, if any.
  std::optional<Item> pop();
  /// Empties the queue, for a connection that ends: its events' deliveries must be settled.
  std::vector<Item> take_all();

  std::size_t events() const noexcept { return events_; }
  bool empty() const noexcept { return items_.empty(); }

 private:
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::deque<Item> items_;
  std::size_t events_ = 0;
  std::size_t event_bytes_ = 0;
};

}  // namespace botgate::onebot
