#include "botgate/platforms/feishu/longconn_fragments.hpp"

#include <algorithm>

namespace botgate::feishu {

FragmentAssembler::Added FragmentAssembler::add(std::string_view message_id, std::int64_t sum,
                                                std::int64_t seq, std::string_view payload,
                                                Clock::time_point now) {
  expire(now);
  if (sum < 1 || seq < 0 || seq >= sum) {
    return {Outcome::rejected, {}, "fragment " + std::to_string(seq) + " of " +
                                       std::to_string(sum) + " is not a fragment"};
  }
  if (static_cast<std::size_t>(sum) > limits_.max_fragments) {
    return {Outcome::rejected, {}, "a message of " + std::to_string(sum) + " fragments (at most " +
                                       std::to_string(limits_.max_fragments) + ")"};
  }
  if (sum == 1) return {Outcome::complete, std::string(payload), {}};
  if (message_id.empty()) return {Outcome::rejected, {}, "a fragment without a message_id"};

  auto it = messages_.find(message_id);
  if (it != messages_.end() && it->second.parts.size() != static_cast<std::size_t>(sum)) {
    // Two messages under one id, or a corrupt header: neither can be trusted.
    drop(it);
    return {Outcome::rejected, {}, "fragments of one message disagree on their count"};
  }
  if (it == messages_.end()) {
    make_room(0, /*new_message=*/true);
    Message fresh;
    fresh.parts.resize(static_cast<std::size_t>(sum));
    fresh.first = now;
    it = messages_.emplace(std::string(message_id), std::move(fresh)).first;
  }
  Message& message = it->second;
  message.last = now;
  auto& slot = message.parts[static_cast<std::size_t>(seq)];
  if (slot) return {Outcome::incomplete, {}, {}};  // sent twice: counted once
  make_room(payload.size(), /*new_message=*/false);
  // make_room may have dropped this very message to fit: it starts again with this fragment.
  it = messages_.find(message_id);
  if (it == messages_.end()) return {Outcome::incomplete, {}, {}};
  it->second.parts[static_cast<std::size_t>(seq)] = std::string(payload);
  ++it->second.received;
  it->second.bytes += payload.size();
  bytes_ += payload.size();
  if (it->second.received < it->second.parts.size()) return {Outcome::incomplete, {}, {}};

  std::string whole;
  whole.reserve(it->second.bytes);
  for (const auto& part : it->second.parts) whole += *part;
  bytes_ -= it->second.bytes;
  messages_.erase(it);
  return {Outcome::complete, std::move(whole), {}};
}

void FragmentAssembler::drop(std::map<std::string, Message, std::less<>>::iterator it) {
  bytes_ -= it->second.bytes;
  messages_.erase(it);
  ++dropped_;
}

void FragmentAssembler::expire(Clock::time_point now) {
  for (auto it = messages_.begin(); it != messages_.end();) {
    auto next = std::next(it);
    if (now - it->second.last >= limits_.expiry) drop(it);
    it = next;
  }
}

void FragmentAssembler::make_room(std::size_t incoming, bool new_message) {
  while (!messages_.empty() &&
         ((new_message && messages_.size() >= limits_.max_messages) ||
          bytes_ + incoming > limits_.max_bytes)) {
    auto oldest = std::min_element(messages_.begin(), messages_.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.second.first < b.second.first;
                                   });
    drop(oldest);
  }
}

}  // namespace botgate::feishu
