#include "botgate/handlers/forward_stream.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::handlers {
namespace {

using test::run_sync;

SseStep step_of(std::string name, std::string data) {
  return sse_change(net::SseEvent{std::move(name), std::move(data)});
}

TEST(SseChange, PlainDataIsAppended) {
  auto step = step_of("message", " tokens");
  ASSERT_TRUE(step.change);
  EXPECT_EQ(step.change->kind, StreamChange::append);
  EXPECT_EQ(step.change->text, " tokens");
  EXPECT_FALSE(step.done);
}

TEST(SseChange, JsonCarriesItsTextOrAnOpenAiDelta) {
  EXPECT_EQ(step_of("message", R"({"text":"a"})").change->text, "a");
  EXPECT_EQ(step_of("message", R"({"choices":[{"index":0,"delta":{"content":"b"}}]})")
                .change->text,
            "b");
  EXPECT_FALSE(step_of("message", R"({"choices":[{"delta":{"role":"assistant"}}]})").change)
      << "a chunk with no content changes nothing";
  EXPECT_FALSE(step_of("message", R"({"usage":{"total_tokens":9}})").change);
  EXPECT_EQ(step_of("message", "{not json").change->text, "{not json") << "text after all";
}

TEST(SseChange, ReplaceDoneAndOtherEvents) {
  auto replace = step_of("replace", R"({"text":"whole"})");
  ASSERT_TRUE(replace.change);
  EXPECT_EQ(replace.change->kind, StreamChange::replace);
  EXPECT_EQ(replace.change->text, "whole");
  EXPECT_TRUE(step_of("replace", "").change) << "a replacement may empty the text";
  auto done = step_of("message", "[DONE]");
  EXPECT_TRUE(done.done);
  EXPECT_FALSE(done.change);
  EXPECT_FALSE(step_of("ping", "x").change);
  EXPECT_FALSE(step_of("message", "").change);
}

/// Records what a StreamedAnswer does to its reply.
class RecordingStreams final : public ReplyStreams {
 public:
  asio::awaitable<Result<std::int64_t>> open_stream(OutgoingMessage message,
                                                    std::string) override {
    log.push_back("open " + message.plain_text());
    co_return 7;
  }
  asio::awaitable<Result<StreamSnapshot>> grow_stream(std::int64_t,
                                                      StreamChange change) override {
    log.push_back(std::string(change.kind == StreamChange::append ? "append " : "replace ") +
                  change.text + (change.finish ? " +finish" : ""));
    StreamSnapshot grown;
    co_return grown;
  }
  asio::awaitable<Result<void>> cut_stream(std::int64_t, std::string why) override {
    log.push_back("cut " + why);
    co_return Result<void>{};
  }
  std::vector<std::string> log;
};

Event an_event() {
  Event event;
  event.id = "ev-1";
  event.bot = "sandbox";
  event.chat.id = "c";
  return event;
}

TEST(StreamedAnswer, AnEventStreamOpensAtItsFirstTextAndEndsAtDone) {
  RecordingStreams streams;
  const Event event = an_event();
  HandlerContext ctx(event);
  ctx.set_streams(&streams);
  StreamedAnswer answer(ctx);
  answer.start(StreamedAnswer::Kind::events);
  for (const char* piece : {": hi\n\n", "data: {\"choices\":[{\"delta\":{\"role\":\"x\"}}]}\n\n",
                            "data: Hel", "lo\n\nevent: replace\ndata: Hi\n\ndata: !\n\n",
                            "data: [DONE]\n\ndata: late\n\n"}) {
    ASSERT_TRUE(run_sync(answer.take(piece)));
  }
  EXPECT_TRUE(answer.opened());
  EXPECT_TRUE(answer.ended());
  ASSERT_TRUE(run_sync(answer.finish())) << "the body's end after [DONE] changes nothing";
  EXPECT_EQ(streams.log, (std::vector<std::string>{"open Hello", "replace Hi", "append !",
                                                   "append  +finish"}));
}

TEST(StreamedAnswer, ATextAnswerHoldsASplitCharacterAndIsCutShortOnce) {
  RecordingStreams streams;
  const Event event = an_event();
  HandlerContext ctx(event);
  ctx.set_streams(&streams);
  StreamedAnswer answer(ctx);
  answer.start(StreamedAnswer::Kind::text);
  ASSERT_TRUE(run_sync(answer.take("Gr\xC3")));
  ASSERT_TRUE(run_sync(answer.take("\xBC\xC3\x9F" "e")));
  ASSERT_TRUE(run_sync(answer.take("\xFF!")));
  ASSERT_TRUE(run_sync(answer.cut_short("it broke off")));
  ASSERT_TRUE(run_sync(answer.cut_short("again")));
  ASSERT_TRUE(run_sync(answer.finish()));
  EXPECT_EQ(streams.log, (std::vector<std::string>{"open Gr", "append \xC3\xBC\xC3\x9F" "e",
                                                   "append \xEF\xBF\xBD!", "cut it broke off"}));
}

TEST(StreamedAnswer, KindFromTheContentTypeOfA200) {
  HttpResponse head{http::status::ok, 11};
  head.set(http::field::content_type, "Text/Event-Stream; charset=utf-8");
  EXPECT_EQ(StreamedAnswer::kind_of(head), StreamedAnswer::Kind::events);
  head.set(http::field::content_type, "text/markdown");
  EXPECT_EQ(StreamedAnswer::kind_of(head), StreamedAnswer::Kind::markdown);
  head.set(http::field::content_type, "application/json");
  EXPECT_FALSE(StreamedAnswer::kind_of(head));
  head.result(http::status::accepted);
  head.set(http::field::content_type, "text/plain");
  EXPECT_FALSE(StreamedAnswer::kind_of(head));
}

}  // namespace
}  // namespace botgate::handlers
