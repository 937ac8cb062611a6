#include "botgate/core/inbox_path_guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate {
namespace {

Event event_in(const std::string& id, const std::string& chat) {
  Event event;
  event.id = id;
  event.chat = Chat{chat, ChatType::group, std::nullopt};
  return event;
}

/// `guard` has seen the whole inbox, empty.
void know_empty(InboxPathGuard& guard) { guard.taken({}, true); }

TEST(InboxPathGuardTest, EveryEventTakesTheInboxUntilATakeFoundTheWholeInbox) {
  InboxPathGuard guard;
  EXPECT_FALSE(guard.may_handle_now(event_in("e1", "c1"), false)) << "leftovers unknown";
  guard.taken({}, false);
  EXPECT_FALSE(guard.may_handle_now(event_in("e2", "c2"), false)) << "more may wait";
  // The restart's leftover in c3 is counted as it is taken.
  guard.taken({InboxItem{7, event_in("old", "c3")}}, true);
  EXPECT_FALSE(guard.may_handle_now(event_in("e3", "c3"), false)) << "behind the leftover";
  EXPECT_TRUE(guard.may_handle_now(event_in("e4", "c4"), false));
  guard.left("old");
  guard.left("e3");
  EXPECT_TRUE(guard.may_handle_now(event_in("e5", "c3"), false));
}

TEST(InboxPathGuardTest, AChatsEventsFollowOneInTheInboxUntilAllOfThemLeft) {
  InboxPathGuard guard;
  know_empty(guard);
  EXPECT_FALSE(guard.may_handle_now(event_in("i1", "c1"), true)) << "its answer waits: queued";
  EXPECT_FALSE(guard.may_handle_now(event_in("m2", "c1"), false)) << "behind i1";
  EXPECT_TRUE(guard.may_handle_now(event_in("m3", "c2"), false)) << "another chat";
  // A chat of another kind with the same id is another lane.
  Event direct = event_in("m4", "c1");
  direct.chat.type = ChatType::private_chat;
  EXPECT_TRUE(guard.may_handle_now(direct, false));
  guard.left("i1");
  EXPECT_FALSE(guard.may_handle_now(event_in("m5", "c1"), false)) << "m2 is still there";
  guard.left("m2");
  guard.left("m5");
  EXPECT_TRUE(guard.may_handle_now(event_in("m6", "c1"), false));
}

TEST(InboxPathGuardTest, AnEventIsCountedOnceAndOnlyCountedEventsLeave) {
  InboxPathGuard guard;
  know_empty(guard);
  EXPECT_FALSE(guard.may_handle_now(event_in("i1", "c1"), true));
  guard.taken({InboxItem{1, event_in("i1", "c1")}}, true);  // counted at its accept already
  guard.left("never-counted");             // ignored
  guard.left("i1");
  EXPECT_TRUE(guard.may_handle_now(event_in("m2", "c1"), false)) << "i1 counted once, left once";
  guard.left("i1");  // twice: ignored
  EXPECT_TRUE(guard.may_handle_now(event_in("m3", "c1"), false));
}

TEST(InboxPathGuardTest, AnEventSentToTheInboxAfterItsChainRanHoldsItsChatLikeAnyOther) {
  InboxPathGuard guard;
  know_empty(guard);
  const Event retried = event_in("r1", "c1");
  ASSERT_TRUE(guard.may_handle_now(retried, false));
  guard.queued(retried);  // its chain asked for a retry: it takes the inbox after all
  EXPECT_FALSE(guard.may_handle_now(event_in("m2", "c1"), false)) << "behind r1";
  guard.queued(retried);  // counted once
  guard.left("r1");
  guard.left("m2");
  EXPECT_TRUE(guard.may_handle_now(event_in("m3", "c1"), false));
}

}  // namespace
}  // namespace botgate
