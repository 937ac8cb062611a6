#pragma once
/// Keeps a chat's replies in order for a bot whose events take two paths: handled at their
/// accept (Runtime::handle_at_accept), or through the inbox, which a callback whose answer may
/// carry the reply takes (a Discord interaction). A reply queued at an accept must not overtake
/// the reply of an earlier event of its chat that is still in the inbox, so while one is there,
/// the chat's later events go through the inbox too, behind it.
///
/// Events are counted from the accept that sends them down the inbox path until they leave the
/// inbox (completed, dead-lettered, or gone); events left in the inbox by a restart, or put back
/// from the dead letters, are counted as they are taken. Until a take has found the whole inbox
/// (after a start), every event goes through the inbox: a restart's leftovers are not known yet.
///
/// Thread safety: every method from any thread (accepts come from the server's threads and the
/// gateways', the rest from the bot's strand); one mutex.

#include "botgate/core/store.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate {

class InboxPathGuard {
 public:
  /// Whether event `event_id` of `event`'s chat may be handled at its accept. When not (because
  /// `must_queue`, or its chat has an event in the inbox, or the inbox is not known yet), the
  /// event is counted as on the inbox path: the caller accepts it into the inbox, and calls
  /// left() if it does not get there (a duplicate, a failed store).
  bool may_handle_now(const Event& event, bool must_queue);
  /// Counts `event` as on the inbox path (a chain that asked for a retry sends it there).
  void queued(const Event& event);
  /// Items taken from the inbox: those not counted yet are counted now. `whole`: the take found
  /// everything the inbox held that was not taken already.
  void taken(const std::vector<InboxItem>& items, bool whole);
  /// A counted event (by its Event::id) left the inbox, or never entered it; an event not
  /// counted is ignored.
  void left(const std::string& event_id);

 private:
  void count_locked(const Event& event);
  std::mutex mutex_;
  bool inbox_known_ = false;
  std::unordered_map<std::string, std::string> lane_of_event_;  // by event id
  std::unordered_map<std::string, std::size_t> events_in_lane_;
};

}  // namespace botgate
