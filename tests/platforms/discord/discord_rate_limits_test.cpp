#include "botgate/platforms/discord/discord_rate_limits.hpp"

#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace botgate::discord {
namespace {
using namespace std::chrono_literals;
using Clock = DiscordRateLimits::Clock;
using std::chrono::milliseconds;

const RouteKey kChannelA{"POST /channels/{channel_id}/messages", "100"};
const RouteKey kChannelB{"POST /channels/{channel_id}/messages", "200"};
const RouteKey kFollowUp{"POST /webhooks/{application_id}/{interaction_token}", "app:digest"};
const RouteKey kMe{"GET /users/@me", ""};

const std::string kGlobalKey = "discord:global:test";

// Far from the clock's epoch, so that "before t0" exists.
const Clock::time_point t0 = Clock::time_point{} + 24h;

HttpResponse answer(unsigned status, std::string body = "{}") {
  HttpResponse r{static_cast<http::status>(status), 11};
  r.set(http::field::content_type, "application/json");
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

/// A 200 with the bucket headers Discord sends.
HttpResponse with_bucket(std::string bucket, int limit, int remaining, std::string reset_after) {
  HttpResponse r = answer(200);
  r.set("X-RateLimit-Bucket", bucket);
  r.set("X-RateLimit-Limit", std::to_string(limit));
  r.set("X-RateLimit-Remaining", std::to_string(remaining));
  r.set("X-RateLimit-Reset-After", reset_after);
  r.set("X-RateLimit-Reset", "1470173023.123");
  return r;
}

class DiscordRateLimitsTest : public ::testing::Test {
 protected:
  boost::asio::io_context io_;
  botgate::test::MemoryStore store_;
  DiscordRateLimits limits_{io_.get_executor(), store_, kGlobalKey};
};

TEST(DiscordRouteTest, InteractionRoutesAreTheOnesWithAnInteractionToken) {
  EXPECT_TRUE(is_interaction_route(kFollowUp.route));
  EXPECT_TRUE(is_interaction_route(
      "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original"));
  EXPECT_FALSE(is_interaction_route(kChannelA.route));
  EXPECT_FALSE(is_interaction_route("POST /webhooks/{webhook_id}/{webhook_token}"));
}

TEST(DiscordRetryAfterTest, BodyFirstThenHeader) {
  EXPECT_EQ(
      discord_retry_after(answer(429, R"({"message":"x","retry_after":64.57,"global":false})")),
      milliseconds(64570));
  HttpResponse header_only = answer(429, "<html>cloudflare</html>");
  header_only.set("Retry-After", "3");
  EXPECT_EQ(discord_retry_after(header_only), milliseconds(3000));
  EXPECT_EQ(discord_retry_after(answer(429, "{}")), std::nullopt);
  EXPECT_EQ(discord_retry_after(answer(429, R"({"retry_after":-1})")), std::nullopt);
}

TEST_F(DiscordRateLimitsTest, AnUnknownRouteGoesAtOnce) {
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0).admitted());
}

TEST_F(DiscordRateLimitsTest, AnExhaustedBucketWaitsForResetAfter) {
  limits_.update(kChannelA, with_bucket("abcd1234", 5, 0, "1.5"), t0);
  const Admission admission = limits_.try_acquire(kChannelA, t0);
  EXPECT_FALSE(admission.admitted());
  EXPECT_EQ(admission.reason, RateLimitReason::bucket);
  EXPECT_EQ(admission.wait, 1500ms);
  EXPECT_EQ(limits_.try_acquire(kChannelA, t0 + 1s).wait, 500ms);
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0 + 1500ms).admitted());
}

TEST_F(DiscordRateLimitsTest, RemainingCountsDownBetweenAnswers) {
  limits_.update(kChannelA, with_bucket("abcd1234", 5, 2, "10"), t0);
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0).admitted());
  const Admission third = limits_.try_acquire(kChannelA, t0 + 1s);
  EXPECT_EQ(third.reason, RateLimitReason::bucket);
  EXPECT_EQ(third.wait, 9s);
}

TEST_F(DiscordRateLimitsTest, AfterTheResetTheLastWindowIsAssumedUntilTheNextAnswer) {
  limits_.update(kChannelA, with_bucket("abcd1234", 2, 0, "1"), t0);
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0 + 1s).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0 + 1s).admitted());
  const Admission third = limits_.try_acquire(kChannelA, t0 + 1s);
  EXPECT_EQ(third.reason, RateLimitReason::bucket);
  EXPECT_EQ(third.wait, 1s);
}

TEST_F(DiscordRateLimitsTest, TheMajorParameterSeparatesBuckets) {
  limits_.update(kChannelA, with_bucket("abcd1234", 5, 0, "2"), t0);
  EXPECT_FALSE(limits_.try_acquire(kChannelA, t0).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelB, t0).admitted());
  EXPECT_TRUE(limits_.try_acquire(kMe, t0).admitted());
}

TEST_F(DiscordRateLimitsTest, RoutesThatShareABucketIdShareItsBudget) {
  const RouteKey edit{"PATCH /channels/{channel_id}/messages/{message_id}", "100"};
  limits_.update(edit, with_bucket("shared-bucket", 5, 3, "5"), t0);
  limits_.update(kChannelA, with_bucket("shared-bucket", 5, 0, "4"), t0 + 1s);
  const Admission admission = limits_.try_acquire(edit, t0 + 1s);
  EXPECT_EQ(admission.reason, RateLimitReason::bucket);
  EXPECT_EQ(admission.wait, 4s);
}

TEST_F(DiscordRateLimitsTest, ABucket429PausesOnlyThatBucket) {
  HttpResponse limited = answer(429, R"({"message":"You are being rate limited.",)"
                                     R"("retry_after":2.5,"global":false})");
  limited.set("X-RateLimit-Scope", "user");
  limits_.update(kChannelA, limited, t0);
  const Admission admission = limits_.try_acquire(kChannelA, t0);
  EXPECT_EQ(admission.reason, RateLimitReason::bucket);
  EXPECT_EQ(admission.wait, 2500ms);
  EXPECT_TRUE(limits_.try_acquire(kChannelB, t0).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelA, t0 + 2500ms).admitted());
}

TEST_F(DiscordRateLimitsTest, AGlobal429PausesEveryRouteButInteractionWebhooks) {
  limits_.update(kChannelA, answer(429, R"({"message":"x","retry_after":65,"global":true})"), t0);
  for (const RouteKey& route : {kChannelA, kChannelB, kMe}) {
    const Admission admission = limits_.try_acquire(route, t0 + 5s);
    EXPECT_EQ(admission.reason, RateLimitReason::global_pause) << route.route;
    EXPECT_EQ(admission.wait, 60s) << route.route;
  }
  // "These endpoints are not bound to the global rate limit."
  EXPECT_TRUE(limits_.try_acquire(kFollowUp, t0 + 5s).admitted());
  EXPECT_TRUE(limits_.try_acquire(kChannelB, t0 + 65s).admitted());
}

TEST_F(DiscordRateLimitsTest, TheGlobalHeaderAndRetryAfterAlsoMakeAGlobalPause) {
  HttpResponse limited = answer(429, "");
  limited.set("X-RateLimit-Global", "true");
  limited.set("Retry-After", "3");
  limits_.update(kChannelA, limited, t0);
  EXPECT_EQ(limits_.try_acquire(kChannelB, t0).reason, RateLimitReason::global_pause);
  EXPECT_EQ(limits_.try_acquire(kChannelB, t0).wait, 3s);
}

TEST_F(DiscordRateLimitsTest, AGlobal429IsHeldInTheStoreForEveryInstance) {
  EXPECT_EQ(limits_.update(kChannelA, answer(429, R"({"retry_after":2.5,"global":true})"), t0),
            std::optional<milliseconds>(2500ms));
  EXPECT_EQ(limits_.update(kChannelA, answer(429, R"({"retry_after":1,"global":false})"), t0),
            std::nullopt)
      << "a bucket's 429 is this process's";
  EXPECT_EQ(limits_.update(kFollowUp, answer(429, R"({"retry_after":1,"global":true})"), t0),
            std::nullopt)
      << "interaction routes are not bound to the global limit";

  // Another instance of the bot, on the same store, learns nothing itself and waits all the
  // same once this one met a global 429.
  DiscordRateLimitOptions no_wait;
  no_wait.max_wait = 0ms;
  DiscordRateLimits other(io_.get_executor(), store_, kGlobalKey, no_wait);
  const HttpResponse global_429 = answer(429, R"({"retry_after":30,"global":true})");
  botgate::test::run_on(io_, limits_.learn(kChannelA, global_429));
  auto refused = botgate::test::run_on(io_, other.acquire(kChannelB));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::rate_limited));
  EXPECT_GT(refused.error().retry_after.value_or(0ms), 29s);
  EXPECT_NE(refused.error().detail.find("global limit"), std::string::npos)
      << refused.error().detail;
  EXPECT_TRUE(botgate::test::run_on(io_, other.acquire(kFollowUp)));
  DiscordRateLimits another_bot(io_.get_executor(), store_, "discord:global:other", no_wait);
  EXPECT_TRUE(botgate::test::run_on(io_, another_bot.acquire(kChannelB)));
}

TEST(DiscordGlobalLimitTest, FiftyRequestsASecondAcrossRoutesAndInstances) {
  boost::asio::io_context io;
  botgate::test::MemoryStore store;
  DiscordRateLimitOptions options;
  options.max_wait = 0ms;  // a wait is returned, not waited
  DiscordRateLimits first(io.get_executor(), store, kGlobalKey, options);
  DiscordRateLimits second(io.get_executor(), store, kGlobalKey, options);
  for (int i = 0; i < 50; ++i) {
    const RouteKey route{kChannelA.route, std::to_string(i)};  // 50 different buckets
    DiscordRateLimits& limits = i % 2 == 0 ? first : second;
    ASSERT_TRUE(botgate::test::run_on(io, limits.acquire(route))) << i;
  }
  for (DiscordRateLimits* limits : {&first, &second}) {
    auto over = botgate::test::run_on(io, limits->acquire(kChannelA));
    ASSERT_FALSE(over);
    EXPECT_TRUE(over.error().is(errc::rate_limited));
    EXPECT_LE(over.error().retry_after.value_or(0ms), 1100ms);  // a second and a margin
    EXPECT_TRUE(botgate::test::run_on(io, limits->acquire(kFollowUp)))
        << "interaction routes are exempt";
  }
}

TEST(DiscordGlobalLimitTest, AStoreWithoutAnAnswerHoldsTheRequestBack) {
  boost::asio::io_context io;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey);
  store.fail_rates(1);
  auto refused = botgate::test::run_on(io, limits.acquire(kChannelA));
  ASSERT_FALSE(refused) << "never sent past a limit it could not check";
  EXPECT_TRUE(refused.error().is(errc::rate_limited));
  EXPECT_EQ(refused.error().retry_after, std::optional<milliseconds>(1s));
  EXPECT_TRUE(botgate::test::run_on(io, limits.acquire(kChannelA))) << "the store is back";
}

TEST(DiscordInvalidRequestsTest, The401s403sAnd429sOfTheWindowAreCounted) {
  boost::asio::io_context io;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey);
  limits.update(kChannelA, answer(401), t0);
  limits.update(kChannelA, answer(403), t0);
  limits.update(kChannelA, answer(429, R"({"retry_after":0.1})"), t0);
  HttpResponse shared = answer(429, R"({"retry_after":0.1})");
  shared.set("X-RateLimit-Scope", "shared");  // "429s with scope shared don't count"
  limits.update(kChannelB, shared, t0);
  limits.update(kChannelB, answer(404), t0);
  limits.update(kChannelB, answer(400), t0);
  limits.update(kChannelB, answer(500), t0);
  EXPECT_EQ(limits.invalid_requests(t0), 3u);
  EXPECT_EQ(limits.invalid_requests(t0 + 10min), 0u);
}

TEST(DiscordInvalidRequestsTest, ABotOverItsBudgetIsRefusedUntilTheWindowFrees) {
  boost::asio::io_context io;
  DiscordRateLimitOptions options;
  options.invalid_budget = 3;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey, options);
  limits.update(kChannelA, answer(403), t0);
  limits.update(kChannelA, answer(403), t0 + 1s);
  EXPECT_TRUE(limits.try_acquire(kChannelB, t0 + 2s).admitted());
  limits.update(kChannelB, answer(403), t0 + 2s);
  for (const RouteKey& route : {kChannelA, kChannelB, kMe, kFollowUp}) {
    const Admission admission = limits.try_acquire(route, t0 + 3s);
    EXPECT_EQ(admission.reason, RateLimitReason::invalid_budget) << route.route;
    EXPECT_EQ(admission.wait, 10min - 3s) << route.route;
  }
  EXPECT_TRUE(limits.try_acquire(kChannelB, t0 + 10min).admitted());
}

TEST(DiscordRateLimitsWaitTest, AShortWaitIsSpentInAcquire) {
  boost::asio::io_context io;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey);
  limits.update(kChannelA, with_bucket("abcd1234", 5, 0, "0.2"), Clock::now());
  const auto start = Clock::now();
  auto acquired = botgate::test::run_on(io, limits.acquire(kChannelA));
  ASSERT_TRUE(acquired) << acquired.error().message();
  EXPECT_GE(Clock::now() - start, 150ms);
  const RateLimitWaits waits = limits.waits();
  EXPECT_GE(waits.count, 1u) << "the status view counts the wait";
  EXPECT_GE(waits.total_ms, 150u);
  EXPECT_LE(waits.total_ms, 250u);
}

TEST(DiscordRateLimitsWaitTest, ALongWaitIsRateLimitedWithRetryAfter) {
  boost::asio::io_context io;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey);
  limits.update(kChannelA, with_bucket("abcd1234", 5, 0, "30"), Clock::now());
  const auto start = Clock::now();
  auto acquired = botgate::test::run_on(io, limits.acquire(kChannelA));
  EXPECT_LT(Clock::now() - start, 1s);  // returned, not waited
  ASSERT_FALSE(acquired);
  EXPECT_TRUE(acquired.error().is(errc::rate_limited));
  ASSERT_TRUE(acquired.error().retry_after.has_value());
  EXPECT_GT(*acquired.error().retry_after, 29s);
  EXPECT_LE(*acquired.error().retry_after, 30s);
  EXPECT_NE(acquired.error().detail.find(kChannelA.route), std::string::npos);
  EXPECT_EQ(acquired.error().detail.find(kChannelA.major), std::string::npos);
  EXPECT_EQ(limits.waits().count, 0u) << "handed back to the outbox, not waited here";
  // Another channel is not held up.
  EXPECT_TRUE(botgate::test::run_on(io, limits.acquire(kChannelB)));
}

TEST(DiscordRateLimitsWaitTest, MaxWaitIsConfigurable) {
  boost::asio::io_context io;
  DiscordRateLimitOptions options;
  options.max_wait = 0ms;
  botgate::test::MemoryStore store;
  DiscordRateLimits limits(io.get_executor(), store, kGlobalKey, options);
  limits.update(kChannelA, with_bucket("abcd1234", 5, 0, "0.2"), Clock::now());
  auto acquired = botgate::test::run_on(io, limits.acquire(kChannelA));
  ASSERT_FALSE(acquired);
  EXPECT_TRUE(acquired.error().is(errc::rate_limited));
}

}  // namespace
}  // namespace botgate::discord
