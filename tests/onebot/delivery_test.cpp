#include "botgate/onebot/delivery.hpp"

#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace botgate::onebot {
namespace {

using namespace std::chrono_literals;

/// Waits on `delivery` on `strand`; the outcome lands in `out`.
void wait_into(asio::any_io_executor strand, std::shared_ptr<Delivery> delivery,
               std::optional<bool>& out) {
  asio::co_spawn(strand, delivery->wait(), [&out](std::exception_ptr, bool written) {
    out = written;
  });
}

TEST(Delivery, WrittenByOneOfSeveralIsEnough) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  auto delivery = std::make_shared<Delivery>(strand);
  delivery->offer();
  delivery->offer();
  delivery->offer();
  std::optional<bool> written;
  wait_into(strand, delivery, written);
  delivery->settle(false);
  // From another thread, as a connection's executor would.
  std::thread([delivery] { delivery->settle(true); }).join();
  ASSERT_TRUE(test::run_until(io, [&] { return written.has_value(); }, 5s));
  EXPECT_TRUE(*written);
}

TEST(Delivery, RefusedWhenEveryOfferFailsOrThereIsNone) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  auto delivery = std::make_shared<Delivery>(strand);
  delivery->offer();
  delivery->offer();
  std::optional<bool> written;
  wait_into(strand, delivery, written);
  delivery->settle(false);
  io.poll();
  EXPECT_FALSE(written.has_value()) << "one offer is still open";
  delivery->settle(false);
  ASSERT_TRUE(test::run_until(io, [&] { return written.has_value(); }, 5s));
  EXPECT_FALSE(*written);

  auto none = std::make_shared<Delivery>(strand);
  std::optional<bool> nothing;
  wait_into(strand, none, nothing);
  ASSERT_TRUE(test::run_until(io, [&] { return nothing.has_value(); }, 5s));
  EXPECT_FALSE(*nothing);
}

TEST(Delivery, ASettleBeforeTheWaitIsNotLost) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  auto delivery = std::make_shared<Delivery>(strand);
  delivery->offer();
  delivery->settle(true);
  io.poll();
  std::optional<bool> written;
  wait_into(strand, delivery, written);
  ASSERT_TRUE(test::run_until(io, [&] { return written.has_value(); }, 5s));
  EXPECT_TRUE(*written);
}

}  // namespace
}  // namespace botgate::onebot
