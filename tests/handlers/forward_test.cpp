#include "botgate/handlers/forward.hpp"

#include "botgate/core/event_json.hpp"
#include "support/net_test_servers.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace botgate::handlers {
namespace {

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

TEST(ForwardHandler, PostsTheEventJsonAndRepliesWithTheAnswer) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(200, R"({"reply":"from service"})");
  });
  asio::io_context io;
  ForwardHandler handler(io.get_executor(), service.url("/hook?x=1"), std::chrono::seconds(2));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  auto result = run_on(io, handler.handle(event, ctx));
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
  auto posted = event_from_json(requests[0].body());
  ASSERT_TRUE(posted);
  EXPECT_EQ(*posted, event);
}

TEST(ForwardHandler, TheReplyCredentialStaysInBotgateAndStillAddressesTheReply) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(200, R"({"reply":"from service"})");
  });
  asio::io_context io;
  ForwardHandler handler(io.get_executor(), service.url("/"), std::chrono::seconds(2));
  Event event = text_event("hello");
  event.platform = "wecom";
  event.reply_credential = "https://qyapi.example/cgi-bin/webhook/send?key=GROUP-KEY-51d0";
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler.handle(event, ctx)), HandlerResult::done);

  auto requests = service.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string body = requests[0].body();
  EXPECT_EQ(body.find("GROUP-KEY-51d0"), std::string::npos) << body;
  // The service names the event by its id (the opaque reference); the reply keeps the target.
  EXPECT_EQ(json::parse(body).at("id"), "evt1");
  ASSERT_EQ(ctx.replies().size(), 1u);
  EXPECT_EQ(ctx.replies()[0].reply_credential, event.reply_credential);
}

TEST(ForwardHandler, ServiceFailureFallsThroughToTheNextHandler) {
  test::TestHttpServer service({}, [](const HttpRequest&) {
    return json_answer(500, R"({"error":"boom"})");
  });
  asio::io_context io;
  ForwardHandler handler(io.get_executor(), service.url("/"), std::chrono::seconds(2));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler.handle(event, ctx)), HandlerResult::next);
  EXPECT_TRUE(ctx.replies().empty());
}

TEST(ForwardHandler, SilentServiceTimesOutAndFallsThrough) {
  test::TestHttpServer service({.tls = false, .mode = test::TestServerMode::silent});
  asio::io_context io;
  ForwardHandler handler(io.get_executor(), service.url("/"), std::chrono::milliseconds(200));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler.handle(event, ctx)), HandlerResult::next);
}

TEST(ForwardHandler, EmptyAnswerMeansHandledWithoutReply) {
  test::TestHttpServer service({}, [](const HttpRequest&) { return json_answer(204, ""); });
  asio::io_context io;
  ForwardHandler handler(io.get_executor(), service.url("/"), std::chrono::seconds(2));
  const Event event = text_event("hello");
  HandlerContext ctx(event);
  EXPECT_EQ(run_on(io, handler.handle(event, ctx)), HandlerResult::done);
  EXPECT_TRUE(ctx.replies().empty());
}

}  // namespace
}  // namespace botgate::handlers
