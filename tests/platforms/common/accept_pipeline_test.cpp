// AcceptPipeline with accepts that finish when the test says, in any order: which gateway
// session is durable, how many accepts run at once, and what a failure does.
#include "botgate/platforms/common/accept_pipeline.hpp"

#include "support/run_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace botgate::platforms {
namespace {

using test::run_on;
using test::run_until;

Event event_named(const std::string& id) {
  Event e;
  e.platform = "discord";
  e.bot = "bot";
  e.platform_event_id = id;
  return e;
}

GatewaySession session_at(std::int64_t sequence) {
  return GatewaySession{"sess", sequence, "", "bot-user"};
}

/// An accept that waits until the test releases its event with an outcome.
class GatedAccept {
 public:
  explicit GatedAccept(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  EventSource::Accept function() {
    return [this](Event event) -> asio::awaitable<Result<bool>> {
      const std::string id = event.platform_event_id;
      started.push_back(id);
      auto gate = std::make_shared<asio::steady_timer>(executor_,
                                                       asio::steady_timer::time_point::max());
      gates_[id] = gate;
      co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
      finished.push_back(id);
      // A copy, not `co_return outcomes_.at(id)`: from a non-const `Result<bool>&`, boost's
      // converting constructor wins over the copy and makes a value out of operator bool.
      Result<bool> outcome = outcomes_.at(id);
      co_return outcome;
    };
  }

  void release(const std::string& id, Result<bool> outcome = true) {
    outcomes_.insert_or_assign(id, std::move(outcome));
    gates_.at(id)->cancel();
  }

  std::vector<std::string> started;
  std::vector<std::string> finished;

 private:
  asio::any_io_executor executor_;
  std::map<std::string, std::shared_ptr<asio::steady_timer>> gates_;
  std::map<std::string, Result<bool>> outcomes_;
};

class AcceptPipelineTest : public ::testing::Test {
 protected:
  void make(std::size_t max_in_flight) {
    pipeline_ = std::make_unique<AcceptPipeline>(strand_, max_in_flight);
    pipeline_->set_accept(gated_.function());
    pipeline_->set_on_failure([this] { ++failures_reported_; });
  }

  /// Submits from a coroutine on the strand; true once the submit returned.
  std::shared_ptr<bool> submit(const std::string& id) {
    auto returned = std::make_shared<bool>(false);
    asio::co_spawn(strand_, [this, id, returned]() -> asio::awaitable<void> {
      co_await pipeline_->submit(event_named(id));
      *returned = true;
    }, asio::detached);
    return returned;
  }

  bool run_until_started(std::size_t n) {
    return run_until(io_, [&] { return gated_.started.size() >= n; });
  }

  asio::io_context io_;
  asio::any_io_executor strand_ = asio::make_strand(io_);
  GatedAccept gated_{strand_};
  std::unique_ptr<AcceptPipeline> pipeline_;
  int failures_reported_ = 0;
};

TEST_F(AcceptPipelineTest, ASessionIsDurableOnlyOnceEveryEarlierEventIs) {
  make(16);
  submit("a");
  submit("b");
  ASSERT_TRUE(run_until_started(2));
  pipeline_->checkpoint(session_at(2));  // frame 2 carried a and b
  submit("c");
  ASSERT_TRUE(run_until_started(3));
  pipeline_->checkpoint(session_at(3));  // frame 3 carried c
  EXPECT_EQ(gated_.started, (std::vector<std::string>{"a", "b", "c"})) << "in submission order";

  // c and b finish before a: nothing is durable while a is not.
  gated_.release("c");
  gated_.release("b");
  ASSERT_TRUE(run_until(io_, [&] { return gated_.finished.size() == 2; }));
  io_.poll();
  EXPECT_FALSE(pipeline_->take_durable());

  gated_.release("a");
  ASSERT_TRUE(run_until(io_, [&] { return gated_.finished.size() == 3; }));
  io_.poll();
  auto durable = pipeline_->take_durable();
  ASSERT_TRUE(durable);
  EXPECT_EQ(durable->sequence, 3) << "both frames are durable: the newest counts";
  EXPECT_FALSE(pipeline_->take_durable()) << "taken once";
  EXPECT_FALSE(pipeline_->failure());
}

TEST_F(AcceptPipelineTest, AFrameWithoutEventsIsDurableAsSoonAsThoseBeforeItAre) {
  make(16);
  pipeline_->checkpoint(session_at(1));
  EXPECT_EQ(pipeline_->take_durable()->sequence, 1);

  submit("a");
  ASSERT_TRUE(run_until_started(1));
  pipeline_->checkpoint(session_at(2));
  pipeline_->checkpoint(session_at(3));  // a heartbeat ACK after it
  EXPECT_FALSE(pipeline_->take_durable());
  gated_.release("a");
  ASSERT_TRUE(run_until(io_, [&] { return gated_.finished.size() == 1; }));
  io_.poll();
  EXPECT_EQ(pipeline_->take_durable()->sequence, 3);
}

TEST_F(AcceptPipelineTest, SubmitWaitsWhileTheLimitIsInFlight) {
  make(2);
  auto a = submit("a");
  auto b = submit("b");
  auto c = submit("c");
  ASSERT_TRUE(run_until_started(2));
  io_.poll();
  EXPECT_TRUE(*a);
  EXPECT_TRUE(*b);
  EXPECT_FALSE(*c) << "a third accept waits for a free place";
  EXPECT_EQ(gated_.started.size(), 2u);

  gated_.release("b");
  ASSERT_TRUE(run_until(io_, [&] { return *c; }));
  ASSERT_TRUE(run_until_started(3));
  EXPECT_EQ(gated_.started.back(), "c");

  // drain() returns only when nothing is outstanding.
  bool drained = false;
  asio::co_spawn(strand_, [&]() -> asio::awaitable<void> {
    co_await pipeline_->drain();
    drained = true;
  }, asio::detached);
  io_.poll();
  EXPECT_FALSE(drained);
  gated_.release("a");
  io_.poll();
  EXPECT_FALSE(drained);
  gated_.release("c");
  ASSERT_TRUE(run_until(io_, [&] { return drained; }));
}

TEST_F(AcceptPipelineTest, AFailureStopsTheDurablePointUntilReset) {
  make(16);
  submit("a");
  ASSERT_TRUE(run_until_started(1));
  pipeline_->checkpoint(session_at(2));
  submit("b");
  ASSERT_TRUE(run_until_started(2));
  pipeline_->checkpoint(session_at(3));
  submit("c");
  ASSERT_TRUE(run_until_started(3));
  pipeline_->checkpoint(session_at(4));

  gated_.release("a");
  gated_.release("b", Error{errc::store_failed, "disk full"});
  gated_.release("c");  // succeeds after the failure: still not durable
  ASSERT_TRUE(run_until(io_, [&] { return gated_.finished.size() == 3; }));
  run_on(io_, [&]() -> asio::awaitable<void> { co_await pipeline_->drain(); }());

  ASSERT_TRUE(pipeline_->failure());
  EXPECT_EQ(pipeline_->failure()->code, errc::store_failed);
  EXPECT_EQ(failures_reported_, 1);
  auto durable = pipeline_->take_durable();
  ASSERT_TRUE(durable);
  EXPECT_EQ(durable->sequence, 2) << "the frame before the failed event";

  pipeline_->reset();
  EXPECT_FALSE(pipeline_->failure());
  submit("d");
  ASSERT_TRUE(run_until_started(4));
  pipeline_->checkpoint(session_at(5));
  gated_.release("d");
  ASSERT_TRUE(run_until(io_, [&] { return gated_.finished.size() == 4; }));
  io_.poll();
  EXPECT_EQ(pipeline_->take_durable()->sequence, 5) << "after a reset, durable points move again";
}

TEST_F(AcceptPipelineTest, AnAcceptThatThrowsCountsAsAFailure) {
  pipeline_ = std::make_unique<AcceptPipeline>(strand_, 4);
  pipeline_->set_accept([](Event) -> asio::awaitable<Result<bool>> {
    throw std::runtime_error("boom");
    co_return true;
  });
  submit("a");
  io_.poll();  // the submit, and the accept that throws
  pipeline_->checkpoint(session_at(2));
  run_on(io_, [&]() -> asio::awaitable<void> { co_await pipeline_->drain(); }());
  ASSERT_TRUE(pipeline_->failure());
  EXPECT_FALSE(pipeline_->take_durable());
}

}  // namespace
}  // namespace botgate::platforms
