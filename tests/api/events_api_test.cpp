#include "botgate/api/events_api.hpp"

#include "botgate/api/event_reader.hpp"
#include "botgate/api/event_streams.hpp"
#include "botgate/core/event_json.hpp"
#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

HttpRequest get(std::string target) {
  HttpRequest request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1:8080");
  return request;
}

TEST(EventsApi, ACursorIsADecimalNumberZeroOrMore) {
  EXPECT_EQ(parse_cursor("0"), 0);
  EXPECT_EQ(parse_cursor("1042"), 1042);
  EXPECT_EQ(parse_cursor("9223372036854775807"), 9223372036854775807);
  for (const char* bad : {"", "-1", "1.5", "12a", " 1", "0x10", "9223372036854775808"}) {
    EXPECT_FALSE(parse_cursor(bad)) << bad;
  }
}

TEST(EventsApi, TheQueryGivesTheFiltersAndWhereToResume) {
  auto parsed = parse_event_query(get("/api/v1/events?bot=alpha&platform=feishu&chat=oc%5F1"));
  ASSERT_TRUE(std::holds_alternative<EventQuery>(parsed));
  const auto& query = std::get<EventQuery>(parsed);
  EXPECT_EQ(query.filter.bot, "alpha");
  EXPECT_EQ(query.filter.platform, "feishu");
  EXPECT_EQ(query.filter.chat, "oc_1");
  EXPECT_FALSE(query.after) << "no cursor: from the next event on";

  parsed = parse_event_query(get("/api/v1/events?after=0"));
  ASSERT_TRUE(std::holds_alternative<EventQuery>(parsed));
  EXPECT_EQ(std::get<EventQuery>(parsed).after, 0);

  HttpRequest resumed = get("/api/v1/events?after=5");
  resumed.set("Last-Event-ID", "17");
  parsed = parse_event_query(resumed);
  ASSERT_TRUE(std::holds_alternative<EventQuery>(parsed));
  EXPECT_EQ(std::get<EventQuery>(parsed).after, 17) << "the header is the newer position";
}

TEST(EventsApi, AMalformedCursorIsRefusedNamingWhereItCameFrom) {
  auto parsed = parse_event_query(get("/api/v1/events?after=x"));
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_TRUE(std::get<std::string>(parsed).starts_with("after:"));
  HttpRequest request = get("/api/v1/events");
  request.set("Last-Event-ID", "-4");
  parsed = parse_event_query(request);
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_TRUE(std::get<std::string>(parsed).starts_with("Last-Event-ID:"));
}

TEST(EventsApi, EachEventIsFramedWithItsCursor) {
  const LoggedEvent event{42, "alpha", "feishu", "oc_1", R"({"id":"e1","text":"a\nb"})"};
  EXPECT_EQ(sse_event(event), "id: 42\ndata: {\"id\":\"e1\",\"text\":\"a\\nb\"}\n\n");
  const auto frame = json::parse(ws_event(event)).as_object();
  EXPECT_EQ(frame.at("cursor").as_int64(), 42);
  EXPECT_EQ(frame.at("event").at("id").as_string(), "e1");
}

Event event_of(const std::string& bot, const std::string& id, const std::string& chat = "c1") {
  Event event;
  event.id = "ev-" + id;
  event.bot = bot;
  event.platform = "sandbox";
  event.platform_event_id = id;
  event.chat = Chat{chat, ChatType::group, std::nullopt};
  event.sender = User{"u1", "Ann", false};
  event.message = Message{"m-" + id, "text " + id, true, {Text{"text " + id}}};
  return event;
}

/// An EventReader over a real Runtime and the in-memory store; the feed keeps 4 events.
class EventReaderTest : public ::testing::Test {
 protected:
  EventReaderTest() {
    RuntimeOptions options;
    options.event_feed_capacity = 4;
    runtime_ = std::make_unique<Runtime>(io_, store_, chain_, options);
  }

  void accept(const std::string& bot, const std::string& id, const std::string& chat = "c1") {
    ASSERT_TRUE(test::run_on(io_, store_.accept(event_of(bot, id, chat), {id}, 1h)).value());
  }
  /// The platform event ids of what next() gives, until it gives nothing within `wait`.
  std::vector<std::string> drain(EventReader& reader, std::chrono::milliseconds wait = 20ms) {
    std::vector<std::string> ids;
    for (;;) {
      auto events = test::run_on(io_, reader.next(std::chrono::steady_clock::now() + wait));
      EXPECT_TRUE(events);
      if (!events || events->empty()) return ids;
      for (const auto& e : *events) ids.push_back(event_from_json(e->json).value().platform_event_id);
    }
  }

  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  std::unique_ptr<Runtime> runtime_;
};

using Ids = std::vector<std::string>;

TEST_F(EventReaderTest, AReaderFromNowGetsOnlyNewEventsAndWaitsForThem) {
  accept("a", "old");
  EventReader reader(*runtime_, io_.get_executor(), {}, runtime_->event_feed().head());
  EXPECT_TRUE(drain(reader).empty());
  // An event published while the reader waits wakes it before its deadline.
  std::vector<std::string> got;
  bool done = false;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + 10s);
    for (const auto& e : events.value()) got.push_back(event_from_json(e->json).value().platform_event_id);
    done = true;
  }, asio::detached);
  io_.restart();  // run_on may have left it stopped
  io_.poll();
  EXPECT_EQ(runtime_->event_feed().waiting(), 1u);
  const auto started = std::chrono::steady_clock::now();
  accept("a", "new");
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(got, Ids{"new"});
}

TEST_F(EventReaderTest, AReaderBehindTheFeedReadsTheStoreThenCatchesUpInOrderOnce) {
  for (int i = 1; i <= 10; ++i) accept("a", std::to_string(i));
  EventReader reader(*runtime_, io_.get_executor(), {}, 0);
  EXPECT_EQ(drain(reader), (Ids{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}));
  accept("a", "11");
  EXPECT_EQ(drain(reader), Ids{"11"});
}

TEST_F(EventReaderTest, AFilteredReaderBehindTheFeedGetsOnlyItsEvents) {
  for (int i = 1; i <= 10; ++i) accept(i % 3 == 0 ? "b" : "a", std::to_string(i));
  EventReader reader(*runtime_, io_.get_executor(), EventFilter{"b", "", ""}, 0);
  EXPECT_EQ(drain(reader), (Ids{"3", "6", "9"}));
  accept("a", "11");
  accept("b", "12");
  EXPECT_EQ(drain(reader), Ids{"12"});
}

TEST_F(EventReaderTest, AReaderThatFallsBehindWhileReadingLosesNothing) {
  accept("a", "1");
  EventReader reader(*runtime_, io_.get_executor(), {}, 0);
  EXPECT_EQ(drain(reader), Ids{"1"});
  for (int i = 2; i <= 12; ++i) accept("a", std::to_string(i));  // past the feed's 4
  Ids expected;
  for (int i = 2; i <= 12; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(drain(reader), expected);
}

TEST_F(EventReaderTest, EventsThatComeSoonAfterABatchGoTogetherInTheNext) {
  // Rounds a long time apart, so that the test does not depend on how fast the machine is.
  RuntimeOptions options;
  options.stream_rounds.min_gap = 1s;
  runtime_.reset();
  runtime_ = std::make_unique<Runtime>(io_, store_, chain_, options);
  EventReader reader(*runtime_, io_.get_executor(), {}, runtime_->event_feed().head());
  // The first event wakes the waiting reader in a round at once (none came before it).
  bool first = false;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + 10s);
    EXPECT_EQ(events.value().size(), 1u);
    first = true;
  }, asio::detached);
  io_.restart();
  io_.poll();
  accept("a", "1");
  ASSERT_TRUE(test::run_until(io_, [&] { return first; }, 5000ms));
  const auto batched = std::chrono::steady_clock::now();
  std::vector<std::string> got;
  bool done = false;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + 10s);
    for (const auto& e : events.value()) got.push_back(event_from_json(e->json).value().platform_event_id);
    done = true;
  }, asio::detached);
  io_.restart();
  io_.poll();
  accept("a", "2");  // wakes the reader, within the rounds' least gap: it waits for the next round
  io_.restart();
  io_.poll();
  EXPECT_FALSE(done);
  accept("a", "3");
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }, 5000ms));
  EXPECT_EQ(got, (Ids{"2", "3"}));
  EXPECT_GE(std::chrono::steady_clock::now() - batched, 900ms);
}

TEST_F(EventReaderTest, StopEndsAWaitingRead) {
  EventReader reader(*runtime_, io_.get_executor(), {}, runtime_->event_feed().head());
  bool done = false;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    auto events = co_await reader.next(std::chrono::steady_clock::now() + 30s);
    EXPECT_TRUE(events && events->empty());
    done = true;
  }, asio::detached);
  io_.restart();  // run_on may have left it stopped
  io_.poll();
  reader.stop();
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }, 2000ms));
  EXPECT_TRUE(reader.stopped());
}

}  // namespace
}  // namespace botgate::api
