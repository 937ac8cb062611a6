#include "botgate/platforms/wecom/aibot_passive_streams.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

namespace botgate::wecom {
namespace {

/// How often expired streams are swept, at most.
constexpr std::chrono::seconds kSweepInterval{30};

}  // namespace

std::string AibotPassiveStreams::stream_id_for(std::string_view response_url) {
  // A digest, not the URL: the response_url's code is a credential, and the id is shown to
  // WeCom's client. 128 bits keep two messages' ids apart.
  return "bg" + crypto::to_hex(crypto::sha256(response_url)).substr(0, 32);
}

bool AibotPassiveStreams::open_for_answers(const Entry& entry, Clock::time_point now) const {
  if (entry.opened_known && now >= entry.opened + kWindow - kWindowMargin) return false;
  return now - entry.last_contact < kQuietLimit;
}

void AibotPassiveStreams::drop_expired(Clock::time_point now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepInterval;
  std::erase_if(entries_, [&](const auto& item) {
    const Entry& e = item.second;
    // Kept while WeCom may still ask, so that a refresh that repeats the last one (its answer
    // lost) gets the same finished content.
    const bool window_over = e.opened_known ? now >= e.opened + kWindow + kQuietLimit
                                            : now - e.last_contact >= kWindow;
    return window_over;
  });
}

void AibotPassiveStreams::opened(const std::string& id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  drop_expired(now);
  Entry& entry = entries_[id];
  if (!entry.opened_known) {
    entry.opened = now;
    entry.opened_known = true;
  }
  entry.last_contact = now;
}

AibotPassiveStreams::Answer AibotPassiveStreams::refresh(const std::string& id,
                                                         Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) return {};
  Entry& entry = found->second;
  entry.last_contact = now;
  if (entry.finish) entry.delivered = true;
  return Answer{entry.content, entry.finish};
}

AibotPassiveStreams::Published AibotPassiveStreams::publish(const std::string& id,
                                                            const std::string& owner,
                                                            std::string content, bool finish,
                                                            Clock::time_point now) {
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto [found, created] = entries_.try_emplace(id);
  Entry& entry = found->second;
  if (created) {
    // A message whose callback this process did not answer (a restart since): shown if WeCom
    // is still asking, which the next refreshes tell.
    entry.last_contact = now;
  } else if (!entry.owner.empty() && entry.owner != owner) {
    return Published::closed;
  } else if (entry.owner.empty() && entry.finish) {
    return Published::closed;  // finished unanswered
  } else if (entry.delivered) {
    // This message's own finished content went out already (a retry after a lost answer).
    return content == entry.content ? Published::shown : Published::closed;
  }
  if (!open_for_answers(entry, now)) return Published::closed;
  entry.owner = owner;
  entry.content = std::move(content);
  entry.finish = finish;
  return Published::shown;
}

AibotPassiveStreams::Delivery AibotPassiveStreams::delivery(const std::string& id,
                                                            Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  if (found == entries_.end()) return Delivery::closed;
  const Entry& entry = found->second;
  if (entry.delivered) return Delivery::delivered;
  return open_for_answers(entry, now) ? Delivery::waiting : Delivery::closed;
}

void AibotPassiveStreams::finish_unanswered(const std::string& id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(id);
  // Unknown: this process did not open it (a restart), and WeCom's window ends it.
  if (found == entries_.end() || !found->second.owner.empty()) return;
  found->second.finish = true;
  drop_expired(now);
}

std::size_t AibotPassiveStreams::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace botgate::wecom
