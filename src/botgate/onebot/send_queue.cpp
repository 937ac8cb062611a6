#include "botgate/onebot/send_queue.hpp"

namespace botgate::onebot {

bool SendQueue::push_event(std::string frame, std::shared_ptr<Delivery> delivery) {
  if (events_ + 1 > max_events_ || event_bytes_ + frame.size() > max_bytes_) return false;
  ++events_;
  event_bytes_ += frame.size();
  items_.push_back({std::move(frame), std::move(delivery)});
  return true;
}

void SendQueue::push_answer(std::string frame) { items_.push_back({std::move(frame), nullptr}); }

std::optional<SendQueue::Item> SendQueue::pop() {
  if (items_.empty()) return std::nullopt;
  Item item = std::move(items_.front());
  items_.pop_front();
  if (item.delivery) {
    --events_;
    event_bytes_ -= item.frame.size();
  }
  return item;
}

std::vector<SendQueue::Item> SendQueue::take_all() {
  std::vector<Item> out(std::make_move_iterator(items_.begin()),
                        std::make_move_iterator(items_.end()));
  items_.clear();
  events_ = 0;
  event_bytes_ = 0;
  return out;
}

}  // namespace botgate::onebot
