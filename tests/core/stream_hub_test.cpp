// The live side of streamed replies: producers' changes, the waits of the send that renders a
// stream, and the ends (finished, cut short).
#include "botgate/core/stream_hub.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace botgate {
namespace {

using namespace std::chrono_literals;

StreamChange append(std::string text, bool finish = false) {
  return StreamChange{StreamChange::append, std::move(text), finish};
}

TEST(StreamHub, ChangesAppendReplaceAndFinishWithAGrowingVersion) {
  StreamHub hub;
  hub.open(7, StreamSnapshot{"Hi", StreamEnd::open, 1}, {"bot", "out:k"});
  auto a = hub.change(7, append(" there"), 1h);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state.text, "Hi there");
  EXPECT_EQ(a->state.version, 2u);
  EXPECT_EQ(a->label.log_id, "out:k");
  EXPECT_FALSE(a->store_now) << "within the store interval";

  auto b = hub.change(7, StreamChange{StreamChange::replace, "Hello", true}, 1h);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state.text, "Hello");
  EXPECT_EQ(b->state.end, StreamEnd::finished);
  EXPECT_TRUE(b->store_now) << "an end is written at once";

  auto late = hub.change(7, append("!"), 1h);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().is(errc::conflict));
  EXPECT_EQ(hub.snapshot(7)->text, "Hello") << "a refused change changes nothing";

  auto unknown = hub.change(8, append("x"), 1h);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::not_found));
}

TEST(StreamHub, TheTextHasACeilingAndAStoreIntervalOfZeroWritesEachChange) {
  StreamHub hub;
  hub.open(1, StreamSnapshot{"", StreamEnd::open, 1}, {});
  ASSERT_TRUE(hub.change(1, append(std::string(kMaxStreamBytes - 1, 'x')), 0ms)->store_now);
  auto over = hub.change(1, append("yz"), 0ms);
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(errc::invalid_argument));
  EXPECT_EQ(hub.snapshot(1)->text.size(), kMaxStreamBytes - 1);
  EXPECT_TRUE(hub.change(1, append("y"), 0ms));
}

TEST(StreamHub, CutShortEndsAnOpenStreamOnlyAndOpenKeepsALiveOne) {
  StreamHub hub;
  hub.open(3, StreamSnapshot{"half", StreamEnd::open, 1}, {}, "progress-1");
  hub.open(3, StreamSnapshot{"other", StreamEnd::open, 1}, {}, "progress-2");
  EXPECT_EQ(hub.snapshot(3)->text, "half") << "a live stream is not opened again";
  EXPECT_EQ(hub.progress(3), "progress-1");
  EXPECT_EQ(hub.cut_reason(3), "") << "an open stream was not cut";
  auto cut = hub.cut_short(3, "the answer broke off");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->end, StreamEnd::cut_short);
  EXPECT_EQ(cut->version, 2u);
  EXPECT_EQ(hub.cut_short(3)->version, 2u) << "cutting an ended stream changes nothing";
  EXPECT_EQ(hub.cut_reason(3), "the answer broke off") << "the first cut's reason stays";
  hub.forget(3);
  EXPECT_FALSE(hub.snapshot(3));
  EXPECT_FALSE(hub.cut_short(3));
  EXPECT_EQ(hub.size(), 0u);
}

TEST(StreamHub, AWaitEndsAtAChangeFromAnotherThreadNotAtItsDeadline) {
  StreamHub hub;
  hub.open(5, StreamSnapshot{"", StreamEnd::open, 1}, {});
  asio::io_context io;
  auto strand = asio::make_strand(io);
  std::chrono::steady_clock::duration waited{};
  bool done = false;
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        co_await hub.wait(5, 1, start + 10s);
        waited = std::chrono::steady_clock::now() - start;
        done = true;
      },
      asio::detached);
  std::thread producer([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(hub.change(5, append("token"), 1h));
  });
  io.run_for(5s);
  producer.join();
  ASSERT_TRUE(done);
  EXPECT_LT(waited, 3s);
  EXPECT_GE(waited, 40ms);
}

TEST(StreamHub, AWaitReturnsAtOnceWhenTheStreamMovedOnOrEndedAndAtItsDeadlineOtherwise) {
  StreamHub hub;
  hub.open(5, StreamSnapshot{"", StreamEnd::open, 3}, {});
  asio::io_context io;
  int returned = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        co_await hub.wait(5, 2, start + 10s);  // version 3 is newer than 2
        ++returned;
        co_await hub.wait(99, 0, start + 10s);  // not live
        ++returned;
        co_await hub.wait(5, 3, start + 30ms);  // nothing new: the deadline
        EXPECT_GE(std::chrono::steady_clock::now() - start, 25ms);
        ++returned;
      },
      asio::detached);
  io.run_for(5s);
  EXPECT_EQ(returned, 3);
}

TEST(StreamHub, WakeAllEndsEveryWait) {
  StreamHub hub;
  hub.open(1, StreamSnapshot{"", StreamEnd::open, 1}, {});
  asio::io_context io;
  bool woke = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await hub.wait(1, 1, std::chrono::steady_clock::now() + 10s);
        woke = true;
      },
      asio::detached);
  asio::post(io, [&] { hub.wake_all(); });
  const auto start = std::chrono::steady_clock::now();
  io.run_for(5s);
  EXPECT_TRUE(woke);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

}  // namespace
}  // namespace botgate
