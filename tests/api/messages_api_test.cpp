#include "botgate/api/messages_api.hpp"

#include "botgate/api/api_answers.hpp"
#include "botgate/api/send_request.hpp"
#include "botgate/api/status_api.hpp"
#include "support/api_request.hpp"
#include "support/memory_store.hpp"
#include "support/recording_sender.hpp"
#include "support/run_until.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace botgate::api {
namespace {

namespace json = boost::json;

TEST(MessagesApi, AnIdInAPathIsAPositiveNumber) {
  EXPECT_EQ(parse_id("1"), 1);
  EXPECT_EQ(parse_id("9223372036854775807"), 9223372036854775807);
  EXPECT_FALSE(parse_id(""));
  EXPECT_FALSE(parse_id("0"));
  EXPECT_FALSE(parse_id("-3"));
  EXPECT_FALSE(parse_id("12a"));
  EXPECT_FALSE(parse_id("abc"));
  EXPECT_FALSE(parse_id("9223372036854775808"));
}

TEST(MessagesApi, TheStateOfEachOutcome) {
  OutboxStatus queued;
  queued.bot = "feishu";
  EXPECT_EQ(json::serialize(message_status_json(7, queued)),
            R"({"id":7,"bot":"feishu","state":"queued","attempts":0})");
  OutboxStatus retrying;
  retrying.bot = "feishu";
  retrying.attempts = 2;
  retrying.last_error = "platform_unavailable: HTTP 502";
  EXPECT_EQ(json::serialize(message_status_json(7, retrying)),
            R"({"id":7,"bot":"feishu","state":"retrying","attempts":2,)"
            R"("error":"platform_unavailable: HTTP 502"})");
  OutboxStatus sent;
  sent.bot = "feishu";
  sent.state = OutboxState::sent;
  sent.attempts = 3;
  sent.platform_message_id = "om_1";
  EXPECT_EQ(json::serialize(message_status_json(7, sent)),
            R"({"id":7,"bot":"feishu","state":"sent","attempts":3,"platform_message_id":"om_1"})");
  OutboxStatus failed;
  failed.bot = "feishu";
  failed.state = OutboxState::failed;
  failed.attempts = 1;
  failed.last_error = "platform_rejected: no chat";
  EXPECT_EQ(json::serialize(message_status_json(7, failed)),
            R"({"id":7,"bot":"feishu","state":"failed","attempts":1,)"
            R"("error":"platform_rejected: no chat"})");
}

TEST(MessagesApi, AMessageInPartsListsThemAndARecallNamesWhatItTakesBack) {
  OutboxStatus parts;
  parts.bot = "discord";
  parts.platform_message_id = "p1";
  parts.parts = {{7, OutboxState::sent, "p1"}, {8, OutboxState::queued, ""}};
  EXPECT_EQ(json::serialize(message_status_json(7, parts)),
            R"({"id":7,"bot":"discord","state":"queued","attempts":0,"parts":[)"
            R"({"id":7,"state":"sent","platform_message_id":"p1"},{"id":8,"state":"queued"}]})");
  OutboxStatus recall;
  recall.bot = "discord";
  recall.state = OutboxState::sent;
  recall.attempts = 1;
  recall.recall = Recall{7, ""};
  recall.parts = {{9, OutboxState::sent, ""}};
  EXPECT_EQ(json::serialize(message_status_json(9, recall)),
            R"({"id":9,"bot":"discord","state":"sent","attempts":1,"recall_of":7})");
  recall.recall = Recall{0, "m-1"};
  EXPECT_EQ(json::serialize(message_status_json(9, recall)),
            R"({"id":9,"bot":"discord","state":"sent","attempts":1,)"
            R"("recall_of_platform_message_id":"m-1"})");
}

/// The send API's routes over a real Runtime with one bot, "chat", whose sender records.
class MessagesRoutes : public ::testing::Test {
 protected:
  MessagesRoutes() {
    access_.set_token(std::string(kToken));
    access_.add_listen("127.0.0.1", 8080);
    RuntimeOptions options;
    // A retry waits 300-600 ms: long enough to see "retrying", short enough for a test.
    options.send_backoff.initial = std::chrono::milliseconds(600);
    runtime_ = std::make_unique<Runtime>(io_, store_, chain_, options);
    BotParts parts;
    auto sender = std::make_unique<test::RecordingSender>();
    sender_ = sender.get();
    parts.sender = std::move(sender);
    runtime_->add_bot("chat", "sandbox", runtime_->make_bot_strand(), std::move(parts));
    add_messages_api(router_, *runtime_, access_);
    add_status_api(router_, *runtime_, access_, {});
    runtime_->start();
  }
  ~MessagesRoutes() override {
    runtime_->stop();
    EXPECT_TRUE(test::run_until(io_, [this] { return runtime_->stopped(); }));
  }

  static constexpr std::string_view kToken = "send-token";

  HttpResponse call(http::verb verb, std::string target, std::string body = "",
                    std::string_view token = kToken) {
    const HttpRequest request = test::api_request(verb, std::move(target), std::move(body), token);
    return test::run_on(io_, router_.dispatch(request)).response;
  }
  json::object post(std::string body, http::status expected = http::status::accepted) {
    const HttpResponse response = call(http::verb::post, "/api/v1/messages", std::move(body));
    EXPECT_EQ(response.result(), expected) << response.body();
    return json::parse(response.body()).as_object();
  }
  json::object state_of(std::int64_t id) {
    const HttpResponse response = call(http::verb::get, "/api/v1/messages/" + std::to_string(id));
    EXPECT_EQ(response.result(), http::status::ok) << response.body();
    return json::parse(response.body()).as_object();
  }
  bool reaches(std::int64_t id, std::string_view state) {
    return test::run_until(io_, [&] { return state_of(id).at("state").as_string() == state; });
  }

  ApiAccess access_;
  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  std::unique_ptr<Runtime> runtime_;
  test::RecordingSender* sender_ = nullptr;
  net::Router router_;
};

TEST_F(MessagesRoutes, AMessageIsQueuedThenSentWithThePlatformsId) {
  const json::object answer = post(R"({"bot":"chat","chat_id":"c1","text":"hello",
                                        "reply_to":"m-9"})");
  const std::int64_t id = answer.at("id").as_int64();
  ASSERT_TRUE(reaches(id, "sent"));
  const json::object sent = state_of(id);
  EXPECT_EQ(sent.at("bot").as_string(), "chat");
  EXPECT_EQ(sent.at("attempts").as_int64(), 1);
  EXPECT_EQ(sent.at("platform_message_id").as_string(), "pm-0");
  ASSERT_EQ(sender_->delivered().size(), 1u);
  const OutgoingMessage delivered = sender_->delivered()[0];
  EXPECT_EQ(delivered.chat_id, "c1");
  EXPECT_EQ(delivered.reply_to, "m-9");
  EXPECT_EQ(delivered.plain_text(), "hello");
}

TEST_F(MessagesRoutes, TheSameIdempotencyKeyAnswersTheFirstIdAndSendsOnce) {
  const std::string body = R"({"bot":"chat","chat_id":"c1","text":"once","idempotency_key":"k1"})";
  const std::int64_t id = post(body).at("id").as_int64();
  EXPECT_EQ(post(body).at("id").as_int64(), id) << "while it is queued";
  ASSERT_TRUE(reaches(id, "sent"));
  EXPECT_EQ(post(body).at("id").as_int64(), id) << "after it was sent";
  const std::int64_t other =
      post(R"({"bot":"chat","chat_id":"c1","text":"once","idempotency_key":"k2"})")
          .at("id")
          .as_int64();
  EXPECT_NE(other, id);
  ASSERT_TRUE(reaches(other, "sent"));
  EXPECT_EQ(sender_->delivered().size(), 2u);
  EXPECT_EQ(sender_->delivered()[0].idempotency_key, platform_idempotency_key("chat", "k1"));
}

TEST_F(MessagesRoutes, ARetryShowsTheAttemptAndTheErrorAndARefusalFails) {
  sender_->fail_at(0, Error{errc::platform_unavailable, "HTTP 502"});
  sender_->fail_at(1, Error{errc::platform_rejected, "code 230002: the bot is not in the chat"});
  const std::int64_t id = post(R"({"bot":"chat","chat_id":"c1","text":"x"})").at("id").as_int64();
  ASSERT_TRUE(reaches(id, "retrying"));
  const json::object retrying = state_of(id);
  EXPECT_EQ(retrying.at("attempts").as_int64(), 1);
  EXPECT_EQ(retrying.at("error").as_string(), "platform_unavailable: HTTP 502");
  ASSERT_TRUE(reaches(id, "failed"));
  const json::object failed = state_of(id);
  EXPECT_EQ(failed.at("attempts").as_int64(), 2);
  EXPECT_NE(failed.at("error").as_string().find("230002"), std::string::npos) << failed;
  EXPECT_FALSE(failed.contains("platform_message_id"));
}

TEST_F(MessagesRoutes, BadInputUnknownBotsAndIdsAreRefused) {
  json::object bad = post(R"({"bot":"chat","chat_id":"c1","text":""})", http::status::bad_request);
  EXPECT_EQ(bad.at("error").as_string(), "bad_request");
  EXPECT_EQ(bad.at("detail").as_string(), "text: empty");
  json::object unknown =
      post(R"({"bot":"nobody","chat_id":"c1","text":"x"})", http::status::not_found);
  EXPECT_EQ(unknown.at("error").as_string(), "unknown_bot");
  EXPECT_EQ(unknown.at("detail").as_string(), "bot: no bot named 'nobody'");
  EXPECT_EQ(call(http::verb::get, "/api/v1/messages/abc").result(), http::status::bad_request);
  const HttpResponse missing = call(http::verb::get, "/api/v1/messages/424242");
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(json::parse(missing.body()).at("error").as_string(), "not_found");
  EXPECT_TRUE(store_.outbox().empty()) << "nothing refused was queued";
}

TEST_F(MessagesRoutes, EveryRouteNeedsTheToken) {
  for (std::string_view token : {std::string_view(), std::string_view("wrong")}) {
    EXPECT_EQ(call(http::verb::post, "/api/v1/messages",
                   R"({"bot":"chat","chat_id":"c1","text":"x"})", token)
                  .result(),
              http::status::unauthorized);
    EXPECT_EQ(call(http::verb::get, "/api/v1/messages/1", "", token).result(),
              http::status::unauthorized);
    EXPECT_EQ(call(http::verb::get, "/api/v1/bots", "", token).result(),
              http::status::unauthorized);
  }
  EXPECT_TRUE(store_.outbox().empty());
}

TEST_F(MessagesRoutes, TheBotsAreListedWithTheirState) {
  ASSERT_TRUE(test::run_until(io_, [&] { return runtime_->ready(); }));
  const HttpResponse response = call(http::verb::get, "/api/v1/bots");
  ASSERT_EQ(response.result(), http::status::ok);
  const json::array bots = json::parse(response.body()).at("bots").as_array();
  ASSERT_EQ(bots.size(), 1u);
  const json::object& bot = bots[0].as_object();
  EXPECT_EQ(bot.at("name").as_string(), "chat");
  EXPECT_EQ(bot.at("platform").as_string(), "sandbox");
  EXPECT_TRUE(bot.at("ready").as_bool());
  EXPECT_TRUE(bot.contains("last_error"));
  EXPECT_TRUE(bot.at("connections").is_array());
  EXPECT_EQ(bot.at("outbox_depth").as_int64(), 0);
}

}  // namespace
}  // namespace botgate::api
