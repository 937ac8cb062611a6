#include "botgate/handlers/forward.hpp"

#include "botgate/core/event_json.hpp"
#include "support/net_test_servers.hpp"
#include "support/run_until.hpp"

#include "botgate/handlers/forward_signature.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>

namespace botgate::handlers {
namespace {

using namespace std::chrono_literals;
using test::run_on;
namespace json = boost::json;

Event text_event(std::string text) {
  Event event;
  event.id = "evt1";
  event.platform = "feishu";
  event.bot = "b";
  event.platform_event_id = "pe1";
  event.chat = {"oc_1", ChatType::group, std::nullopt};
  event.sender = {"ou_1", "Ann", false};
  Message m;
  m.id = "om_1";
  m.text = std::move(text);
  m.segments.emplace_back(Text{m.text});
  event.message = std::move(m);
  return event;
}

HttpResponse json_answer(unsigned status, std::string body) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

TEST(ForwardResponse, ReplyBecomesOnePlainMessage) {
  auto replies = parse_forward_response(R"({"reply":"hi there"})");
  ASSERT_TRUE(replies);
  ASSERT_EQ(replies->size(), 1u);
  EXPECT_EQ((*replies)[0].plain_text(), "hi there");
}

TEST(ForwardResponse, MessagesKeepTheirKinds) {
  auto replies = parse_forward_response(
      R"({"messages":[{"text":"a"},{"markdown":"**b**"},{"image_url":"https://x/y.png"}]})");
  ASSERT_TRUE(replies);
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].segments, std::vector<Segment>{Text{"a"}});
  EXPECT_EQ((*replies)[1].segments, std::vector<Segment>{Markdown{"**b**"}});
  EXPECT_EQ((*replies)[2].segments, std::vector<Segment>{Image{"https://x/y.png"}});
}

TEST(ForwardResponse, EmptyBodyOrNoKeysMeansNoReply) {
  for (const char* body : {"", "  \n", "{}", R"({"reply":null})"}) {
    auto replies = parse_forward_response(body);
    ASSERT_TRUE(replies) << body;
    EXPECT_TRUE(replies->empty()) << body;
  }
}

TEST(ForwardResponse, MalformedAnswersAreErrors) {
  for (const char* body : {"not json", "[1]", R"({"reply":5})", R"({"messages":{}})",
                           R"({"messages":[{"nothing":1}]})", R"({"messages":[3]})"}) {
    auto replies = parse_forward_response(body);
    ASSERT_FALSE(replies) << body;
    EXPECT_TRUE(replies.error().is(errc::malformed_payload)) << body;
  }
}

constexpr const char* kSecret = "forward-test-secret-0123456789";

/// A handler serving bot "b" with one target at `url`.
std::unique_ptr<ForwardHandler> handler_for(asio::io_context& io, std::string url,
                                            std::chrono::milliseconds timeout = 2000ms,
                                            int max_attempts = 10) {
  ForwardTarget target;
  target.url = std::move(url);
  target.secret = kSecret;
  target.timeout = timeout;
  target.max_attempts = max_attempts;
  std::vector<ForwardTarget> targets{target};
  return std::make_unique<ForwardHandler>(io.get_executor(), std::move(targets),
                                          std::map<std::string, std::size_t>{{"b", 0}});
}

TEST(ForwardHandler, PostsTheEventJsonSignedAndRepliesWithTheAnswer) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(200, R"({"reply":"from service"})");
  });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/hook?x=1"));
  const Event event = text_event("hello");
  HandlerContext ctx(event, 3);
  const auto before = std::chrono::system_clock::now();
  auto result = run_on(io, handler->handle(event, ctx));
  EXPECT_EQ(result, HandlerResult::done);
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].plain_text(), "from service");
  EXPECT_EQ(ctx.replies()[0].chat_id, "oc_1");
  EXPECT_EQ(ctx.replies()[0].reply_to, "om_1");

  auto requests = service.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method(), http::verb::post);
  EXPECT_EQ(requests[0].target(), "/hook?x=1");
  EXPECT_EQ(requests[0][http::field::authorization], "");  // never a platform token
  EXPECT_EQ(requests[0]["X-Botgate-Event-Id"], "evt1");
  EXPECT_EQ(requests[0]["X-Botgate-Attempt"], "3");
  auto posted = event_from_json(requests[0].body());
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, event);
  // The signature, checked the way a service checks it: t within a few seconds of now and the
  // MAC over "t.body" (computed here with OpenSSL's HMAC directly, not through botgate's code).
  const std::string signature(requests[0]["X-Botgate-Signature"]);
  ASSERT_TRUE(signature.starts_with("t=")) << signature;
  const auto comma = signature.find(",v1=");
  ASSERT_NE(comma, std::string::npos) << signature;
  const std::string t = signature.substr(2, comma - 2);
  const auto seconds = std::stoll(t);
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         before.time_since_epoch()).count();
  EXPECT_LE(std::llabs(seconds - now_s), 5);
  const std::string signed_text = t + "." + requests[0].body();
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_len);
  std::string hex;
  for (unsigned i = 0; i < mac_len; ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[mac[i] >> 4];
    hex += kDigits[mac[i] & 15];
  }
  EXPECT_EQ(signature.substr(comma + 4), hex);
}

TEST(ForwardSignature, IsTheHmacOfTimestampDotBody) {
  // Known answer: HMAC-SHA256("key", "1700000000.{}") as computed by Python's hmac module.
  EXPECT_EQ(forward_signature("key", 1700000000, "{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
}

TEST(ForwardHandler, BotsItDoesNotServeGoOnDownTheChain) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(200, R"({"reply":"from service"})");
  });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  Event event = text_event("hello");
  event.bot = "other";
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::next);
  EXPECT_TRUE(service.requests().empty());
  // So for them it is immediate; for the bot it serves it waits on the service.
  EXPECT_TRUE(handler->immediate_for("other"));
  EXPECT_FALSE(handler->immediate_for("b"));
}

TEST(ForwardHandler, TheReplyCredentialStaysInBotgateAndStillAddressesTheReply) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(200, R"({"reply":"from service"})");
  });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  Event event = text_event("hello");
  event.platform = "wecom";
  event.reply_credential = "https://qyapi.example/cgi-bin/webhook/send?key=GROUP-KEY-51d0";
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::done);

  auto requests = service.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string body = requests[0].body();
  EXPECT_EQ(body.find("GROUP-KEY-51d0"), std::string::npos) << body;
  // The service names the event by its id (the opaque reference); the reply keeps the target.
  EXPECT_EQ(json::parse(body).at("id"), "evt1");
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].reply_credential, event.reply_credential);
}

TEST(ForwardHandler, AServerErrorIsRetriedNeverPassedToAFallback) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(503, R"({"error":"boom"})");
  });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  const Event event = text_event("hello");
  HandlerContext ctx(event, 1, std::chrono::system_clock::now());
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::retry);
  EXPECT_EQ(ctx.failure(), "the service answered HTTP 503");
  EXPECT_GE(ctx.retry_after(), 500ms);  // the first backoff step: 1 s with jitter
  EXPECT_LE(ctx.retry_after(), 1000ms);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(ForwardHandler, ASilentServiceTimesOutAndIsRetried) {
  test::TestHttpServer service({.tls = false, .mode = test::TestServerMode::silent});
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"), 200ms);
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::retry);
  EXPECT_NE(ctx.failure().find("no answer from"), std::string::npos) << ctx.failure();
}

TEST(ForwardHandler, AnUnreadableAnswerIsRetried) {
  test::TestHttpServer service({}, [](const HttpRequest&) { return json_answer(200, "<html>"); });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::retry);
  EXPECT_NE(ctx.failure().find("unreadable"), std::string::npos) << ctx.failure();
}

TEST(ForwardHandler, AClientErrorIsGivenUpAtOnce) {
  test::TestHttpServer service({}, [](const HttpRequest&) { return json_answer(400, "{}"); });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::give_up);
  EXPECT_EQ(ctx.failure(), "the service answered HTTP 400");
}

TEST(ForwardHandler, TheLastAttemptGivesUp) {
  test::TestHttpServer service({}, [](const HttpRequest&) { return json_answer(500, "{}"); });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"), 2000ms, 3);
  const Event event = text_event("hello");
  HandlerContext ctx(event, 3);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::give_up);
  EXPECT_EQ(ctx.failure(), "gave up after 3 attempt(s): the service answered HTTP 500");
}

TEST(ForwardHandler, Answer202MeansTheServiceAnswersLater) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(202, R"({"reply":"ignored"})");
  });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::done);
  EXPECT_TRUE(ctx.replies().empty());
  EXPECT_TRUE(ctx.answers_later()) << "the event must be kept for the API's reply";
}

TEST(ForwardHandler, EmptyAnswerMeansHandledWithoutReply) {
  test::TestHttpServer service({}, [](const HttpRequest&) { return json_answer(204, ""); });
  asio::io_context io;
  auto handler = handler_for(io, service.url("/"));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler->handle(event, ctx)), HandlerResult::done);
  EXPECT_TRUE(ctx.replies().empty());
  EXPECT_FALSE(ctx.answers_later());
}

ForwardTarget target_with(int max_attempts, std::chrono::seconds max_age) {
  ForwardTarget target;
  target.max_attempts = max_attempts;
  target.max_age = max_age;
  return target;
}

TEST(ForwardFailureDecision, RetriesWithBackoffUntilTheLimits) {
  const BackoffPolicy backoff{1000ms, 8000ms, 2.0};
  const Event event = text_event("x");
  const ForwardFailure down{"down"};
  {
    HandlerContext ctx(event);
    EXPECT_EQ(decide_forward_failure(down, target_with(10, 3600s), backoff, 4, 0ms, 0.99, ctx),
              HandlerResult::retry);
    EXPECT_GT(ctx.retry_after(), 7000ms);  // attempt 4: cap 8 s, jitter near the top
    EXPECT_LE(ctx.retry_after(), 8000ms);
  }
  {
    HandlerContext ctx(event);
    EXPECT_EQ(decide_forward_failure(down, target_with(10, 60s), backoff, 2, 61s, 0.5, ctx),
              HandlerResult::give_up);
    EXPECT_EQ(ctx.failure(), "gave up after 2 attempt(s) over 61 s: down");
  }
  {
    // The service's Retry-After counts when longer than the backoff, up to the backoff's max.
    HandlerContext ctx(event);
    const ForwardFailure busy{"busy", true, 30000ms};
    EXPECT_EQ(decide_forward_failure(busy, target_with(10, 3600s), backoff, 1, 0ms, 0.0, ctx),
              HandlerResult::retry);
    EXPECT_EQ(ctx.retry_after(), 8000ms);
  }
}

}  // namespace
}  // namespace botgate::handlers
