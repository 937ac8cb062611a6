#include "botgate/core/runtime.hpp"

#include "botgate/core/event_json.hpp"
#include "support/memory_store.hpp"
#include "support/recording_sender.hpp"
#include "support/run_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace botgate {
namespace {

using namespace std::chrono_literals;
using test::MemoryStore;
using test::RecordingSender;
using test::run_on;
using test::run_until;

/// Answers every message with "echo: <text>".
class EchoHandler final : public Handler {
 public:
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override {
    if (!event.message) {
      co_return HandlerResult::next;
    }
    const std::string& text = event.message->text;
    if (text.starts_with("flaky ")) {
      // "flaky N ...": the service behind it is down for the first N attempts.
      attempts_seen.push_back(ctx.attempt());
      if (ctx.attempt() <= std::stoi(text.substr(6))) {
        ctx.fail("service unavailable (attempt " + std::to_string(ctx.attempt()) + ")", 20ms);
        co_return HandlerResult::retry;
      }
    }
    if (text.starts_with("later ")) {
      answered_later.push_back(event.id);
      ctx.answer_later();
      co_return HandlerResult::done;
    }
    if (text.starts_with("doomed ") && service_refuses) {
      ctx.fail("the service refused it: HTTP 400");
      co_return HandlerResult::give_up;
    }
    if (event.message->text.starts_with("slow ") || event.message->text.starts_with("llm ")) {
      // A handler that takes its time (a forward to a slow service; an LLM: 5 s).
      const auto pause = event.message->text.starts_with("llm ") ? 5000ms : 300ms;
      asio::steady_timer timer(co_await asio::this_coro::executor, pause);
      co_await timer.async_wait(asio::use_awaitable);
    }
    ctx.reply(OutgoingMessage::plain("echo: " + event.message->text));
    co_return HandlerResult::done;
  }

  /// The attempt number of each run on a "flaky" message.
  std::vector<int> attempts_seen;
  /// The ids of the "later" events, which the handler answers later through the API.
  std::vector<std::string> answered_later;
  /// Whether "doomed" messages are given up on.
  bool service_refuses = true;
  /// What immediate_for says (set before the runtime starts); the test handler's "slow",
  /// "flaky" and "later" messages are for the inbox path only.
  bool immediate = false;
  bool immediate_for(const std::string&) const override { return immediate; }
};

/// Stands for a handler with effects beyond its replies (a forward): never immediate.
class PassHandler final : public Handler {
 public:
  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext&) override {
    co_return HandlerResult::next;
  }
};

/// A platform callback in miniature: header X-Test-Signature must be "good", the body is one
/// Event as JSON, and the acknowledgement is "success".
class TestWebhook final : public WebhookHandler {
 public:
  Result<WebhookOutcome> handle(const HttpRequest& request) const override {
    if (request["X-Test-Signature"] != "good") {
      return Error{errc::bad_signature, "X-Test-Signature does not match"};
    }
    auto event = event_from_json(request.body());
    if (!event) {
      return event.error();
    }
    WebhookOutcome outcome;
    outcome.events.push_back(std::move(*event));
    outcome.ack = make_response(http::status::ok, "success", "text/plain");
    if (const auto window = request["X-Test-Reply-Window-Ms"]; !window.empty()) {
      // Like a Discord interaction: the reply may travel in the answer.
      outcome.reply_window = std::chrono::milliseconds(std::stoi(std::string(window)));
      outcome.reply_ack = [](const OutgoingMessage& reply) -> std::optional<HttpResponse> {
        if (reply.plain_text().find("no-inline") != std::string::npos) return std::nullopt;
        return make_response(http::status::ok, "inline: " + reply.plain_text(), "text/plain");
      };
    }
    return outcome;
  }
};

/// A callback whose answer may carry the reply (a Discord interaction), with TestWebhook's
/// checks.
class AnsweringWebhook final : public WebhookHandler {
 public:
  Result<WebhookOutcome> handle(const HttpRequest& request) const override {
    return inner_.handle(request);
  }
  bool answers_in_callback() const override { return true; }

 private:
  TestWebhook inner_;
};

RuntimeOptions fast_options() {
  RuntimeOptions options;
  options.send_backoff = BackoffPolicy{1ms, 5ms, 2.0};
  return options;
}

Event message_event(std::string event_id, std::string message_id, std::string text,
                    std::string bot = "bot") {
  Event event;
  event.platform = "sandbox";
  event.bot = std::move(bot);
  event.platform_event_id = std::move(event_id);
  event.chat = Chat{"chat-1", ChatType::group, std::nullopt};
  event.sender = User{"user-1", "Ann", false};
  event.message = Message{std::move(message_id), text, true, {Text{text}}};
  event.reply_context = "ctx-1";
  return event;
}

HttpRequest callback(const std::string& signature, std::string body) {
  HttpRequest request{http::verb::post, "/webhook/bot", 11};
  request.set("X-Test-Signature", signature);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// One runtime with one bot ("bot") over a MemoryStore and a RecordingSender, and the chain
/// {EchoHandler}. The destructor stops the runtime and lets its workers end.
class Harness {
 public:
  explicit Harness(RuntimeOptions options = fast_options(), MemoryStore* shared_store = nullptr)
      : store_(shared_store ? *shared_store : own_store_) {
    auto handler = std::make_unique<EchoHandler>();
    handler_ = handler.get();
    chain_.add(std::move(handler));
    runtime_ = std::make_unique<Runtime>(io_, store_, chain_, options);
    sender_ = add_bot("bot", true);
  }

  ~Harness() {
    runtime_->stop();
    EXPECT_TRUE(run_until(io_, [this] { return runtime_->stopped(); }))
        << "the workers did not end after stop()";
    io_.restart();
    io_.poll();  // the wake-ups that stop() posted
    runtime_.reset();
  }

  RecordingSender* add_bot(const std::string& name, bool with_webhook) {
    auto sender = std::make_unique<RecordingSender>();
    RecordingSender* raw = sender.get();
    BotParts parts;
    if (with_webhook) {
      parts.webhook = std::make_unique<TestWebhook>();
    }
    parts.sender = std::move(sender);
    runtime_->add_bot(name, "sandbox", runtime_->make_bot_strand(), std::move(parts));
    return raw;
  }

  /// Adds a bot without a callback that sends through `sender`.
  void add_bot_with(const std::string& name, std::unique_ptr<Sender> sender) {
    BotParts parts;
    parts.sender = std::move(sender);
    runtime_->add_bot(name, "sandbox", runtime_->make_bot_strand(), std::move(parts));
  }

  Result<bool> on_event(Event event) { return run_on(io_, runtime_->on_event(std::move(event))); }

  /// Handles a callback as the server would, and tells the answer that it was written.
  HttpResponse on_webhook(const std::string& bot, const HttpRequest& request) {
    HttpAnswer answer = answer_to(bot, request);
    if (answer.after_write) answer.after_write(true);
    return std::move(answer.response);
  }

  /// The answer, before the server writes it.
  HttpAnswer answer_to(const std::string& bot, const HttpRequest& request) {
    return run_on(io_, runtime_->on_webhook(bot, request));
  }

  /// Runs until `sender` delivered a message whose text is `text`.
  bool wait_for_delivery(const std::string& text, RecordingSender* sender = nullptr) {
    sender = sender ? sender : sender_;
    return run_until(io_, [&] { return count_delivered(text, sender) > 0; });
  }

  int count_delivered(const std::string& text, RecordingSender* sender = nullptr) const {
    sender = sender ? sender : sender_;
    int n = 0;
    for (const OutgoingMessage& m : sender->delivered()) {
      n += m.plain_text() == text ? 1 : 0;
    }
    return n;
  }

  std::optional<OutboxStatus> status_of(std::int64_t id) {
    return run_on(io_, runtime_->message_status(id)).value();
  }

  asio::io_context io_;
  MemoryStore own_store_;
  MemoryStore& store_;
  HandlerChain chain_;
  EchoHandler* handler_ = nullptr;
  std::unique_ptr<Runtime> runtime_;
  RecordingSender* sender_ = nullptr;
};

TEST(RuntimeTest, ABotsConcurrencyIsItsOwnOrTheDefault) {
  RuntimeOptions options = fast_options();
  options.inbox_concurrency = 7;
  Harness h(options);
  BotParts parts;
  parts.sender = std::make_unique<RecordingSender>();
  parts.inbox_concurrency = 3;  // what the wiring sets from [[bot]] concurrency
  h.runtime_->add_bot("busy", "sandbox", h.runtime_->make_bot_strand(), std::move(parts));
  std::map<std::string, std::size_t> concurrency;
  for (const BotStatus& bot : h.runtime_->status()) concurrency[bot.name] = bot.inbox_concurrency;
  EXPECT_EQ(concurrency, (std::map<std::string, std::size_t>{{"bot", 7}, {"busy", 3}}));
}

TEST(RuntimeTest, EventIsAnsweredInItsConversation) {
  Harness h;
  h.runtime_->start();
  auto accepted = h.on_event(message_event("ev-1", "m-1", "hi"));
  ASSERT_TRUE(accepted);
  EXPECT_TRUE(*accepted);
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));

  const auto delivered = h.sender_->delivered();
  ASSERT_EQ(delivered.size(), 1u);
  const OutgoingMessage& reply = delivered[0];
  EXPECT_EQ(reply.bot, "bot");
  EXPECT_EQ(reply.chat_id, "chat-1");
  EXPECT_EQ(reply.chat_type, ChatType::group);
  EXPECT_EQ(reply.reply_to, "m-1");
  EXPECT_EQ(reply.reply_to_user, "user-1");
  EXPECT_EQ(reply.reply_context, "ctx-1");
  EXPECT_FALSE(reply.idempotency_key.empty());

  ASSERT_TRUE(run_until(h.io_, [&] {
    const auto outbox = h.store_.outbox();
    return outbox.size() == 1 && outbox[0].state == OutboxState::sent;
  }));
  EXPECT_EQ(h.store_.outbox()[0].platform_message_id, "pm-0");
  EXPECT_TRUE(h.store_.inbox().empty());
  const auto status = h.runtime_->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].name, "bot");
  EXPECT_EQ(status[0].platform, "sandbox");
  EXPECT_EQ(status[0].events_in, 1u);
  EXPECT_TRUE(run_until(h.io_, [&] { return h.runtime_->status()[0].messages_sent == 1; }));
}

Event in_chat(Event event, const std::string& chat) {
  event.chat.id = chat;
  return event;
}

/// The texts the sender delivered, in order.
std::vector<std::string> delivered_texts(const RecordingSender& sender) {
  std::vector<std::string> texts;
  for (const OutgoingMessage& m : sender.delivered()) texts.push_back(m.plain_text());
  return texts;
}

TEST(RuntimeTest, ASlowHandlerInOneChatDoesNotDelayAnotherChat) {
  Harness h;
  h.runtime_->start();
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-1", "m-1", "llm one"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-2", "m-2", "quick"), "chat-2")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-3", "m-3", "after"), "chat-1")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: quick"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s)
      << "the other chat's reply waited for the 5 s handler";
  EXPECT_EQ(h.count_delivered("echo: after"), 0) << "its own chat waits, in order";
  ASSERT_TRUE(h.wait_for_delivery("echo: after", nullptr));
  EXPECT_EQ(delivered_texts(*h.sender_),
            (std::vector<std::string>{"echo: quick", "echo: llm one", "echo: after"}));
}

TEST(RuntimeTest, AnEventWhoseHandlerAsksForARetryIsHandledAgainAndOnlyItsChatWaits) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-1", "m-1", "flaky 2 one"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-2", "m-2", "after"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-3", "m-3", "other"), "chat-2")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: after"));
  EXPECT_EQ(delivered_texts(*h.sender_),
            (std::vector<std::string>{"echo: other", "echo: flaky 2 one", "echo: after"}))
      << "the other chat went on; the flaky event's chat kept its order";
  EXPECT_EQ(h.handler_->attempts_seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(h.runtime_->status()[0].handling_retries, 2u);
  EXPECT_EQ(h.count_delivered("echo: flaky 2 one"), 1);
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, AStopDuringARetryWaitKeepsTheEventWithItsAttemptsForTheNextStart) {
  MemoryStore store;
  {
    Harness h(fast_options(), &store);
    h.runtime_->start();
    ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "flaky 3 one")).value());
    ASSERT_TRUE(run_until(h.io_, [&] { return h.handler_->attempts_seen.size() == 2; }));
    // The harness stops the runtime here, during a wait, and checks that it stops.
  }
  const auto inbox = store.inbox();
  ASSERT_EQ(inbox.size(), 1u) << "the event left the inbox without being handled";
  EXPECT_GE(inbox[0].attempts, 2);
  store.restart();
  Harness again(fast_options(), &store);
  again.runtime_->start();
  ASSERT_TRUE(again.wait_for_delivery("echo: flaky 3 one"));
  ASSERT_FALSE(again.handler_->attempts_seen.empty());
  EXPECT_EQ(again.handler_->attempts_seen.front(), inbox[0].attempts + 1)
      << "the attempts before the restart were not counted";
  EXPECT_EQ(again.handler_->attempts_seen.back(), 4);
}

TEST(RuntimeTest, AnEventGivenUpOnIsADeadLetterUntilItIsRetried) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-1", "m-1", "doomed one"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-2", "m-2", "after"), "chat-1")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: after")) << "a dead letter held up its chat";
  auto letters = run_on(h.io_, h.runtime_->dead_letters("", 0, 10)).value();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].event.message->text, "doomed one");
  EXPECT_EQ(letters[0].reason, "the service refused it: HTTP 400");
  EXPECT_EQ(letters[0].attempts, 1);
  EXPECT_EQ(h.count_delivered("echo: doomed one"), 0);
  EXPECT_TRUE(h.store_.inbox().empty());
  EXPECT_EQ(h.runtime_->status()[0].dead_lettered, 1u);
  EXPECT_EQ(run_on(h.io_, h.runtime_->queue_depth("bot")).value().dead_letters, 1);

  h.handler_->service_refuses = false;  // the service was fixed
  EXPECT_TRUE(run_on(h.io_, h.runtime_->retry_dead_letter(letters[0].id)).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: doomed one"));
  EXPECT_TRUE(run_on(h.io_, h.runtime_->dead_letters("", 0, 10)).value().empty());
  EXPECT_FALSE(run_on(h.io_, h.runtime_->retry_dead_letter(letters[0].id)).value())
      << "a second retry of the same dead letter";
  EXPECT_EQ(h.count_delivered("echo: doomed one"), 1);
}

TEST(RuntimeTest, AnEventAnsweredLaterCanBeRepliedToByItsId) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "later please")).value());
  ASSERT_TRUE(h.on_event(message_event("ev-2", "m-2", "now")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: now"));
  ASSERT_TRUE(run_until(h.io_, [&] { return h.store_.inbox().empty(); }));
  ASSERT_EQ(h.handler_->answered_later.size(), 1u);
  auto target = run_on(h.io_, h.runtime_->reply_target(h.handler_->answered_later[0])).value();
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->message->id, "m-1");
  EXPECT_EQ(target->reply_context, "ctx-1");
  EXPECT_EQ(h.count_delivered("echo: later please"), 0);
}

TEST(RuntimeTest, AFailedCompletionIsTriedAgainWithoutHandlingTheEventsTwice) {
  Harness h;
  h.store_.fail_completions(2);
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-1", "m-1", "one"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-2", "m-2", "two"), "chat-1")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: two"));
  EXPECT_EQ(delivered_texts(*h.sender_), (std::vector<std::string>{"echo: one", "echo: two"}));
  EXPECT_EQ(h.store_.taken_count(), 2) << "each event taken (and handled) once";
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, TheInboxConcurrencyBoundsHowManyChatsAreHandledAtOnce) {
  RuntimeOptions options = fast_options();
  options.inbox_concurrency = 1;
  Harness h(options);
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-1", "m-1", "slow one"), "chat-1")).value());
  ASSERT_TRUE(h.on_event(in_chat(message_event("ev-2", "m-2", "two"), "chat-2")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: two"));
  EXPECT_EQ(delivered_texts(*h.sender_), (std::vector<std::string>{"echo: slow one", "echo: two"}))
      << "one chat at a time: the second waited for the first";
}

TEST(RuntimeTest, AcceptedEventGetsAnIdAndTheBotsPlatform) {
  Harness h;
  Event event = message_event("ev-1", "m-1", "hi");
  event.platform.clear();
  ASSERT_TRUE(h.on_event(event).value());
  const auto inbox = h.store_.inbox();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event.id.size(), 32u);
  EXPECT_EQ(inbox[0].event.platform, "sandbox");
  EXPECT_EQ(inbox[0].event.bot, "bot");
}

TEST(RuntimeTest, EventForAnUnknownBotIsNotFound) {
  Harness h;
  auto accepted = h.on_event(message_event("ev-1", "m-1", "hi", "nobody"));
  ASSERT_FALSE(accepted);
  EXPECT_TRUE(accepted.error().is(errc::not_found));
}

TEST(RuntimeTest, DuplicatePlatformEventIdGetsOneReply) {
  Harness h;
  h.runtime_->start();
  EXPECT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  EXPECT_FALSE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  // A message is deduplicated on its message id alone (a platform never reuses an event id for
  // another message); events without a message on their event id.
  Event plain = message_event("ev-plain", "", "");
  plain.message.reset();
  EXPECT_TRUE(h.on_event(plain).value());
  EXPECT_FALSE(h.on_event(plain).value());
  // Everything accepted before the barrier is handled before it (inbox and outbox keep order).
  EXPECT_TRUE(h.on_event(message_event("ev-2", "m-2", "barrier")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: barrier"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 1);
  EXPECT_EQ(h.sender_->send_calls(), 2);
  EXPECT_EQ(h.runtime_->status()[0].events_in, 3u);  // hi, the plain event, the barrier
}

TEST(RuntimeTest, SameMessageUnderAnotherEventIdGetsOneReply) {
  Harness h;
  h.runtime_->start();
  EXPECT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  EXPECT_FALSE(h.on_event(message_event("ev-1-redelivered", "m-1", "hi")).value());
  EXPECT_TRUE(h.on_event(message_event("ev-2", "m-2", "barrier")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: barrier"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 1);
}

TEST(RuntimeTest, EventsFromBotsGetNoReply) {
  Harness h;
  h.runtime_->start();
  Event from_bot = message_event("ev-1", "m-1", "i am a bot");
  from_bot.sender.is_bot = true;
  EXPECT_TRUE(h.on_event(from_bot).value());
  EXPECT_TRUE(h.on_event(message_event("ev-2", "m-2", "barrier")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: barrier"));
  EXPECT_EQ(h.sender_->send_calls(), 1);
  EXPECT_EQ(h.count_delivered("echo: i am a bot"), 0);
  EXPECT_TRUE(h.store_.inbox().empty()) << "the bot's event is completed, not left pending";
}

HttpRequest callback_with_reply_window(const Event& event, int window_ms) {
  HttpRequest request = callback("good", to_json(event));
  request.set("X-Test-Reply-Window-Ms", std::to_string(window_ms));
  return request;
}

TEST(RuntimeTest, AFastReplyTravelsInTheCallbackAnswerAndIsNotSentAgain) {
  Harness h;
  h.runtime_->start();
  const HttpResponse answer =
      h.on_webhook("bot", callback_with_reply_window(message_event("ev-1", "m-1", "hi"), 2000));
  EXPECT_EQ(answer.body(), "inline: echo: hi");
  EXPECT_TRUE(h.on_event(message_event("ev-2", "m-2", "barrier")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: barrier"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 0) << "answered inline, so not sent again";
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, AnInlineReplyCountsAsSentOnlyOnceItsAnswerIsWritten) {
  Harness h;
  h.runtime_->start();
  HttpAnswer answer =
      h.answer_to("bot", callback_with_reply_window(message_event("ev-1", "m-1", "hi"), 2000));
  EXPECT_EQ(answer.response.body(), "inline: echo: hi");
  ASSERT_TRUE(answer.after_write);
  // The inbox worker waits for the write: until then nothing calls the reply sent.
  run_until(h.io_, [] { return false; }, 100ms);
  EXPECT_EQ(h.runtime_->status()[0].messages_sent, 0u);
  answer.after_write(true);
  EXPECT_TRUE(run_until(h.io_, [&] { return h.runtime_->status()[0].messages_sent == 1; }));
  EXPECT_TRUE(h.on_event(message_event("ev-2", "m-2", "barrier")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: barrier"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 0);
}

TEST(RuntimeTest, AnInlineReplyWhoseAnswerWasNotWrittenIsSentByTheSender) {
  Harness h;
  h.runtime_->start();
  HttpAnswer answer =
      h.answer_to("bot", callback_with_reply_window(message_event("ev-1", "m-1", "hi"), 2000));
  EXPECT_EQ(answer.response.body(), "inline: echo: hi");
  ASSERT_TRUE(answer.after_write);
  answer.after_write(false);  // the connection was gone
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 1);
  const OutgoingMessage sent = h.sender_->delivered().front();
  EXPECT_TRUE(sent.idempotency_key.ends_with("-0")) << "sent as the first reply to its event";
}

TEST(RuntimeTest, AnInlineReplyWhoseAnswerIsDroppedUnwrittenIsSentByTheSender) {
  Harness h;
  h.runtime_->start();
  {
    // The server never wrote it (its connection or the server went away first).
    HttpAnswer answer =
        h.answer_to("bot", callback_with_reply_window(message_event("ev-1", "m-1", "hi"), 2000));
    EXPECT_EQ(answer.response.body(), "inline: echo: hi");
  }
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms) << "not left to the 3 s limit";
  EXPECT_EQ(h.count_delivered("echo: hi"), 1);
}

TEST(RuntimeTest, ASlowReplyGetsTheDeferredAckAndIsSentByTheSender) {
  Harness h;
  h.runtime_->start();
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse answer = h.on_webhook(
      "bot", callback_with_reply_window(message_event("ev-1", "m-1", "slow one"), 50));
  EXPECT_EQ(answer.body(), "success");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms) << "the window bounds the wait";
  ASSERT_TRUE(h.wait_for_delivery("echo: slow one"));
  EXPECT_EQ(h.count_delivered("echo: slow one"), 1);
}

TEST(RuntimeTest, AReplyThePlatformCannotCarryInlineIsSent) {
  Harness h;
  h.runtime_->start();
  const HttpResponse answer = h.on_webhook(
      "bot", callback_with_reply_window(message_event("ev-1", "m-1", "no-inline"), 2000));
  EXPECT_EQ(answer.body(), "success");
  ASSERT_TRUE(h.wait_for_delivery("echo: no-inline"));
}

TEST(RuntimeTest, ADuplicateCallbackDoesNotWaitForAReply) {
  Harness h;
  h.runtime_->start();
  const Event event = message_event("ev-1", "m-1", "hi");
  EXPECT_EQ(h.on_webhook("bot", callback_with_reply_window(event, 2000)).body(),
            "inline: echo: hi");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(h.on_webhook("bot", callback_with_reply_window(event, 2000)).body(), "success");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

/// Groups the send attempts by message text.
std::map<std::string, std::vector<test::SendAttempt>> attempts_by_text(const RecordingSender& s) {
  std::map<std::string, std::vector<test::SendAttempt>> out;
  for (const test::SendAttempt& attempt : s.attempts()) {
    out[attempt.message.plain_text()].push_back(attempt);
  }
  return out;
}

TEST(RuntimeTest, RetryableFailureAtEachStepStillDeliversExactlyOnce) {
  const std::vector<Error> failures = {
      Error{errc::rate_limited, "429", std::chrono::milliseconds(2)},
      Error{errc::platform_unavailable, "502 from the platform"},
      Error{errc::timeout, "send timed out"},
      Error{errc::token_rejected, "99991663"},
  };
  for (const Error& failure : failures) {
    for (int fail_at = 0; fail_at < 4; ++fail_at) {
      SCOPED_TRACE(failure.message() + ", fail_at=" + std::to_string(fail_at));
      Harness h;
      h.sender_->fail_at(fail_at, failure);
      for (int i = 0; i < 4; ++i) {
        const std::string n = std::to_string(i);
        ASSERT_TRUE(h.on_event(message_event("ev-" + n, "m-" + n, "msg " + n)).value());
      }
      h.runtime_->start();
      ASSERT_TRUE(run_until(h.io_, [&] { return h.sender_->delivered().size() >= 4; }));
      ASSERT_TRUE(run_until(h.io_, [&] {
        const auto outbox = h.store_.outbox();
        return std::all_of(outbox.begin(), outbox.end(),
                           [](const auto& e) { return e.state == OutboxState::sent; });
      }));

      EXPECT_EQ(h.sender_->send_calls(), 5);
      const auto attempts = h.sender_->attempts();
      ASSERT_GT(attempts.size(), static_cast<std::size_t>(fail_at));
      EXPECT_FALSE(attempts[fail_at].delivered);
      std::set<std::string> keys;
      for (const auto& [text, tries] : attempts_by_text(*h.sender_)) {
        SCOPED_TRACE(text);
        const auto delivered = std::count_if(tries.begin(), tries.end(),
                                             [](const auto& a) { return a.delivered; });
        EXPECT_EQ(delivered, 1);
        for (const auto& attempt : tries) {
          EXPECT_EQ(attempt.message.idempotency_key, tries.front().message.idempotency_key);
        }
        EXPECT_FALSE(tries.front().message.idempotency_key.empty());
        keys.insert(tries.front().message.idempotency_key);
      }
      EXPECT_EQ(keys.size(), 4u) << "each message has its own idempotency key";
      // The message that failed was attempted twice, the others once.
      int twice = 0;
      for (const auto& entry : h.store_.outbox()) {
        EXPECT_TRUE(entry.attempts == 1 || entry.attempts == 2);
        twice += entry.attempts == 2 ? 1 : 0;
      }
      EXPECT_EQ(twice, 1);
      if (failure.is(errc::token_rejected)) {
        EXPECT_GE(h.sender_->prepare_calls(), 2) << "a rejected token makes the bot prepare again";
      }
    }
  }
}

TEST(RuntimeTest, ConsecutiveRetryableFailuresKeepTheIdempotencyKey) {
  for (int failures = 1; failures <= 3; ++failures) {
    SCOPED_TRACE("failures=" + std::to_string(failures));
    Harness h;
    h.sender_->fail_next_sends(failures, Error{errc::platform_unavailable, "503"});
    h.runtime_->start();
    ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
    ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
    const auto attempts = h.sender_->attempts();
    ASSERT_EQ(attempts.size(), static_cast<std::size_t>(failures + 1));
    for (const auto& attempt : attempts) {
      EXPECT_EQ(attempt.message.idempotency_key, attempts.front().message.idempotency_key);
    }
    ASSERT_TRUE(run_until(h.io_, [&] {
      return h.store_.outbox().size() == 1 && h.store_.outbox()[0].state == OutboxState::sent;
    }));
    EXPECT_EQ(h.store_.outbox()[0].attempts, failures + 1);
  }
}

TEST(RuntimeTest, RetriesStopAfterMaxSendAttempts) {
  RuntimeOptions options = fast_options();
  options.max_send_attempts = 3;
  Harness h(options);
  h.sender_->fail_next_sends(1000, Error{errc::platform_unavailable, "503"});
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(run_until(h.io_, [&] {
    return h.store_.outbox().size() == 1 && h.store_.outbox()[0].state == OutboxState::failed;
  }));
  EXPECT_EQ(h.sender_->send_calls(), 3);
  EXPECT_EQ(h.store_.outbox()[0].attempts, 3);
  EXPECT_EQ(h.runtime_->status()[0].send_failures, 1u);
}

TEST(RuntimeTest, NonRetryableFailureMarksTheMessageFailedWithoutRetry) {
  Harness h;
  h.sender_->fail_at(0, Error{errc::platform_rejected, "230002 bot not in chat"});
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(run_until(h.io_, [&] {
    const auto outbox = h.store_.outbox();
    return outbox.size() == 1 && outbox[0].state == OutboxState::failed;
  }));
  const auto status = h.status_of(h.store_.outbox()[0].id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, OutboxState::failed);
  EXPECT_EQ(status->attempts, 1);
  EXPECT_NE(status->last_error.find("platform_rejected"), std::string::npos) << status->last_error;
  EXPECT_NE(status->last_error.find("230002"), std::string::npos) << status->last_error;

  // A later message goes out; had the failed one been queued again, it would have gone first.
  OutgoingMessage later = OutgoingMessage::plain("later");
  later.bot = "bot";
  later.chat_id = "chat-1";
  auto id = run_on(h.io_, h.runtime_->send(later));
  ASSERT_TRUE(id);
  ASSERT_TRUE(h.wait_for_delivery("later"));
  EXPECT_EQ(h.sender_->send_calls(), 2);
  EXPECT_EQ(h.count_delivered("echo: hi"), 0);
  const auto bot = h.runtime_->status()[0];
  EXPECT_EQ(bot.send_failures, 1u);
  EXPECT_NE(bot.last_error.find("platform_rejected"), std::string::npos);
}

TEST(RuntimeTest, AnUncertainDeliveryIsNotSentAgainAndIsCountedAsSuch) {
  // The request went out, the answer never came, and the platform has no idempotency key:
  // neither resent (a duplicate) nor counted as a failure (it may have arrived).
  Harness h;
  h.sender_->fail_at(0, Error{errc::delivery_uncertain, "connection lost after the request"});
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(run_until(h.io_, [&] {
    const auto outbox = h.store_.outbox();
    return outbox.size() == 1 && outbox[0].state == OutboxState::failed;
  }));
  const auto status = h.status_of(h.store_.outbox()[0].id);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->attempts, 1);
  EXPECT_TRUE(status->last_error.starts_with("delivery_uncertain")) << status->last_error;

  // The chat goes on; the uncertain message is not among what is sent.
  OutgoingMessage later = OutgoingMessage::plain("later");
  later.bot = "bot";
  later.chat_id = "chat-1";
  ASSERT_TRUE(run_on(h.io_, h.runtime_->send(later)));
  ASSERT_TRUE(h.wait_for_delivery("later"));
  EXPECT_EQ(h.sender_->send_calls(), 2);
  const auto bot = h.runtime_->status()[0];
  EXPECT_EQ(bot.delivery_uncertain, 1u);
  EXPECT_EQ(bot.send_failures, 0u);
  EXPECT_NE(bot.last_error.find("delivery_uncertain"), std::string::npos) << bot.last_error;
}

TEST(RuntimeTest, ProactiveSendGetsAnIdempotencyKeyAndAStatus) {
  Harness h;
  h.runtime_->start();
  OutgoingMessage message = OutgoingMessage::plain("news");
  message.bot = "bot";
  message.chat_id = "chat-9";
  auto id = run_on(h.io_, h.runtime_->send(message));
  ASSERT_TRUE(id);
  ASSERT_TRUE(h.wait_for_delivery("news"));
  EXPECT_FALSE(h.sender_->delivered()[0].idempotency_key.empty());
  EXPECT_EQ(h.sender_->delivered()[0].chat_id, "chat-9");
  ASSERT_TRUE(run_until(h.io_, [&] {
    auto status = h.status_of(*id);
    return status && status->state == OutboxState::sent;
  }));
  EXPECT_EQ(h.status_of(*id)->platform_message_id, "pm-0");
  EXPECT_FALSE(h.status_of(*id + 1000));

  OutgoingMessage stray = OutgoingMessage::plain("x");
  stray.bot = "nobody";
  auto refused = run_on(h.io_, h.runtime_->send(stray));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::not_found));
}

/// Runs until `id` is sent or failed, and returns its status.
OutboxStatus wait_ended(Harness& h, std::int64_t id) {
  std::optional<OutboxStatus> status;
  EXPECT_TRUE(run_until(h.io_, [&] {
    status = h.status_of(id);
    return status && status->state != OutboxState::queued;
  })) << "message " << id << " did not end";
  return status.value_or(OutboxStatus{});
}

OutgoingMessage proactive(const std::string& text, const std::string& chat = "chat-9") {
  OutgoingMessage message = OutgoingMessage::plain(text);
  message.bot = "bot";
  message.chat_id = chat;
  return message;
}

TEST(RuntimeTest, ARecallTakesBackEveryPartOfASentMessageInItsChat) {
  Harness h;
  h.sender_->allow_recalls();
  h.sender_->split_at_bars();
  h.runtime_->start();
  auto id = run_on(h.io_, h.runtime_->send(proactive("one|two|three")));
  ASSERT_TRUE(id);
  const OutboxStatus sent = wait_ended(h, *id);
  ASSERT_EQ(sent.state, OutboxState::sent);
  ASSERT_EQ(sent.parts.size(), 3u);
  auto recall = run_on(h.io_, h.runtime_->recall_message(*id));
  ASSERT_TRUE(recall) << recall.error().message();
  const OutboxStatus done = wait_ended(h, *recall);
  EXPECT_EQ(done.state, OutboxState::sent) << done.last_error;
  ASSERT_TRUE(done.recall);
  EXPECT_EQ(done.recall->message, *id);
  EXPECT_EQ(h.sender_->recalled(), (std::vector<std::string>{"pm-0", "pm-1", "pm-2"}));
  EXPECT_EQ(h.sender_->recall_chats(), (std::vector<std::string>{"chat-9", "chat-9", "chat-9"}));
  EXPECT_EQ(h.sender_->send_calls(), 3) << "a recall sends nothing";
}

TEST(RuntimeTest, ARecallQueuedBeforeItsMessageIsSentWaitsForIt) {
  Harness h;
  h.sender_->allow_recalls();
  h.sender_->fail_next_sends(2, Error{errc::platform_unavailable, "down"});
  h.runtime_->start();
  auto id = run_on(h.io_, h.runtime_->send(proactive("soon")));
  ASSERT_TRUE(id);
  auto recall = run_on(h.io_, h.runtime_->recall_message(*id));
  ASSERT_TRUE(recall);
  EXPECT_EQ(wait_ended(h, *recall).state, OutboxState::sent);
  EXPECT_EQ(h.status_of(*id)->state, OutboxState::sent) << "sent first, then taken back";
  EXPECT_EQ(h.sender_->recalled(), (std::vector<std::string>{"pm-2"}));
}

TEST(RuntimeTest, AFailedRecallIsTriedAgainAndARecallOfAPlatformIdNeedsNoMessage) {
  Harness h;
  h.sender_->allow_recalls();
  h.sender_->fail_next_recalls(1, Error{errc::platform_unavailable, "502"});
  h.runtime_->start();
  OutgoingMessage where = proactive("");
  where.segments.clear();
  auto recall = run_on(h.io_, h.runtime_->recall_platform_message(where, "om_user_1"));
  ASSERT_TRUE(recall);
  const OutboxStatus done = wait_ended(h, *recall);
  EXPECT_EQ(done.state, OutboxState::sent);
  EXPECT_EQ(done.attempts, 2);
  EXPECT_EQ(h.sender_->recalled(), (std::vector<std::string>{"om_user_1"}));
  EXPECT_EQ(h.sender_->recall_chats(), (std::vector<std::string>{"chat-9", "chat-9"}));
}

TEST(RuntimeTest, ARecallIsRefusedWhenThereIsNothingToTakeBackOrNoWayTo) {
  Harness h;
  h.sender_->fail_next_sends(1, Error{errc::platform_rejected, "no such chat"});
  h.runtime_->start();
  auto failed = run_on(h.io_, h.runtime_->send(proactive("lost")));
  auto sent = run_on(h.io_, h.runtime_->send(proactive("kept")));
  ASSERT_TRUE(failed && sent);
  EXPECT_EQ(wait_ended(h, *failed).state, OutboxState::failed);
  EXPECT_EQ(wait_ended(h, *sent).state, OutboxState::sent);

  auto no_way = run_on(h.io_, h.runtime_->recall_message(*sent));
  ASSERT_FALSE(no_way);
  EXPECT_TRUE(no_way.error().is(errc::platform_rejected)) << "the sender cannot recall";
  h.sender_->allow_recalls();
  auto unknown = run_on(h.io_, h.runtime_->recall_message(*sent + 1000));
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::not_found));
  auto never_sent = run_on(h.io_, h.runtime_->recall_message(*failed));
  ASSERT_FALSE(never_sent);
  EXPECT_TRUE(never_sent.error().is(errc::invalid_argument));
  auto recall = run_on(h.io_, h.runtime_->recall_message(*sent));
  ASSERT_TRUE(recall);
  auto of_a_recall = run_on(h.io_, h.runtime_->recall_message(*recall));
  ASSERT_FALSE(of_a_recall);
  EXPECT_TRUE(of_a_recall.error().is(errc::invalid_argument));
  OutgoingMessage stray = proactive("");
  stray.bot = "nobody";
  auto no_bot = run_on(h.io_, h.runtime_->recall_platform_message(stray, "x"));
  ASSERT_FALSE(no_bot);
  EXPECT_TRUE(no_bot.error().is(errc::not_found));
  EXPECT_EQ(wait_ended(h, *recall).state, OutboxState::sent);
}

TEST(RuntimeTest, AClientKeySendsAMessageOnceAndAnswersTheFirstId) {
  Harness h;
  h.runtime_->start();
  OutgoingMessage message = OutgoingMessage::plain("once");
  message.bot = "bot";
  message.chat_id = "chat-9";
  message.idempotency_key = "derived-key";
  auto first = run_on(h.io_, h.runtime_->send(message, "client-1"));
  ASSERT_TRUE(first);
  ASSERT_TRUE(h.wait_for_delivery("once"));
  auto again = run_on(h.io_, h.runtime_->send(message, "client-1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  auto other = run_on(h.io_, h.runtime_->send(message, "client-2"));
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
  ASSERT_TRUE(run_until(h.io_, [&] { return h.count_delivered("once") == 2; }));
  EXPECT_EQ(h.store_.outbox().size(), 2u) << "the repeat queued nothing";
  EXPECT_EQ(h.sender_->delivered()[0].idempotency_key, "derived-key")
      << "the message's own key goes to the platform";
}

TEST(RuntimeTest, NotReadyUntilPrepareSucceeds) {
  Harness h;
  h.sender_->fail_prepares(2);
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  EXPECT_FALSE(h.runtime_->ready());
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] { return h.sender_->prepare_calls() >= 2; }));
  EXPECT_FALSE(h.runtime_->ready());
  EXPECT_FALSE(h.runtime_->status()[0].ready);
  EXPECT_NE(h.runtime_->status()[0].last_error.find("token_unavailable"), std::string::npos);
  EXPECT_EQ(h.sender_->send_calls(), 0) << "nothing is sent before the bot is prepared";

  ASSERT_TRUE(run_until(h.io_, [&] { return h.runtime_->ready(); }));
  EXPECT_EQ(h.sender_->prepare_calls(), 3);
  EXPECT_TRUE(h.runtime_->status()[0].last_error.empty());
  EXPECT_TRUE(h.wait_for_delivery("echo: hi"));
}

TEST(RuntimeTest, ReadyNeedsEveryBot) {
  Harness h;
  RecordingSender* second = h.add_bot("second", false);
  second->fail_prepares(1000);
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] { return h.sender_->prepared() == 1; }));
  ASSERT_TRUE(run_until(h.io_, [&] { return second->prepare_calls() >= 2; }));
  EXPECT_FALSE(h.runtime_->ready());
}

TEST(RuntimeTest, PrepareBotRunsTheSendersPrepare) {
  Harness h;
  h.sender_->fail_prepares(1, Error{errc::token_unavailable, "bad secret"});
  auto first = run_on(h.io_, h.runtime_->prepare_bot("bot"));
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::token_unavailable));
  EXPECT_TRUE(run_on(h.io_, h.runtime_->prepare_bot("bot")));
  auto unknown = run_on(h.io_, h.runtime_->prepare_bot("nobody"));
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::not_found));
}

TEST(RuntimeTest, EachBotAnswersWithItsOwnSender) {
  Harness h;
  RecordingSender* second = h.add_bot("second", false);
  EXPECT_TRUE(h.runtime_->has_bot("second"));
  EXPECT_FALSE(h.runtime_->has_bot("third"));
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "to first")).value());
  // Event ids are per bot: the same platform event id for another bot is not a duplicate.
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "to second", "second")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: to first"));
  ASSERT_TRUE(h.wait_for_delivery("echo: to second", second));
  EXPECT_EQ(h.sender_->send_calls(), 1);
  EXPECT_EQ(second->send_calls(), 1);
  EXPECT_EQ(second->delivered()[0].bot, "second");
}

TEST(RuntimeTest, WebhookForAnUnknownBotIs404) {
  Harness h;
  h.add_bot("gateway-only", false);
  const HttpRequest request = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("nobody", request).result(), http::status::not_found);
  EXPECT_EQ(h.on_webhook("gateway-only", request).result(), http::status::not_found);
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, AWebhookThatIsNotPublicAnswersOnlyThroughTheApi) {
  Harness h;
  BotParts parts;
  parts.webhook = std::make_unique<TestWebhook>();
  parts.webhook_public = false;  // as the sandbox's
  parts.sender = std::make_unique<RecordingSender>();
  h.runtime_->add_bot("inner", "sandbox", h.runtime_->make_bot_strand(), std::move(parts));
  h.runtime_->start();
  const HttpRequest request =
      callback("good", to_json(message_event("ev-1", "m-1", "hi", "inner")));
  EXPECT_EQ(h.on_webhook("inner", request).result(), http::status::not_found);
  EXPECT_TRUE(h.store_.inbox().empty() && h.runtime_->status().size() == 2);
  const HttpResponse through_api =
      run_on(h.io_, h.runtime_->on_webhook("inner", request, Runtime::WebhookRoute::api))
          .response;
  EXPECT_EQ(through_api.result(), http::status::ok);
  for (const BotStatus& bot : h.runtime_->status()) {
    EXPECT_EQ(bot.has_webhook, bot.name == "bot") << bot.name;
  }
}

TEST(RuntimeTest, WebhookWithABadSignatureIs401AndNoEvent) {
  Harness h;
  h.runtime_->start();
  const HttpRequest request = callback("forged", to_json(message_event("ev-1", "m-1", "hi")));
  const HttpResponse response = h.on_webhook("bot", request);
  EXPECT_EQ(response.result(), http::status::unauthorized);
  EXPECT_EQ(response.body().find("X-Test-Signature"), std::string::npos)
      << "the detail stays in the log";
  EXPECT_TRUE(h.store_.inbox().empty());
  EXPECT_EQ(h.runtime_->status()[0].events_in, 0u);
  // The event was not remembered either: the genuine delivery is accepted.
  const HttpRequest genuine = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", genuine).result(), http::status::ok);
  EXPECT_TRUE(h.wait_for_delivery("echo: hi"));
}

TEST(RuntimeTest, WebhookWithAMalformedBodyIs400) {
  Harness h;
  const HttpResponse response = h.on_webhook("bot", callback("good", "{not json"));
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_NE(response.body().find(R"("error":"malformed_payload")"), std::string::npos)
      << response.body();
  EXPECT_NE(response.body().find(R"("detail":)"), std::string::npos) << "what is malformed";
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, WebhookIsAcknowledgedOnlyOnceTheEventIsDurable) {
  Harness h;
  const HttpRequest request = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  const HttpResponse ack = h.on_webhook("bot", request);
  EXPECT_EQ(ack.result(), http::status::ok);
  EXPECT_EQ(ack.body(), "success");
  ASSERT_EQ(h.store_.inbox().size(), 1u);
  EXPECT_EQ(h.store_.inbox()[0].event.platform_event_id, "ev-1");
  // A redelivery is acknowledged the same way and stores nothing.
  EXPECT_EQ(h.on_webhook("bot", request).body(), "success");
  EXPECT_EQ(h.store_.inbox().size(), 1u);
}

TEST(RuntimeTest, WebhookIsNotAcknowledgedWhenTheStoreFails) {
  Harness h;
  h.store_.fail_accepts(1);
  const HttpRequest request = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", request).result(), http::status::service_unavailable);
  EXPECT_TRUE(h.store_.inbox().empty());
  // The platform delivers again, and this time it is accepted.
  EXPECT_EQ(h.on_webhook("bot", request).result(), http::status::ok);
  EXPECT_EQ(h.store_.inbox().size(), 1u);
}

TEST(RuntimeTest, WorkLeftInTheStoreIsDoneAfterARestart) {
  MemoryStore store;
  {
    // The previous process: accepted one event, queued one message, and stopped before its
    // workers got to either.
    Harness before(fast_options(), &store);
    ASSERT_TRUE(before.on_event(message_event("ev-1", "m-1", "left in inbox")).value());
    OutgoingMessage queued = OutgoingMessage::plain("left in outbox");
    queued.bot = "bot";
    queued.chat_id = "chat-1";
    queued.idempotency_key = "key-from-before";
    ASSERT_TRUE(run_on(before.io_, before.store_.outbox_push(queued)));
  }
  ASSERT_EQ(store.inbox().size(), 1u);
  ASSERT_EQ(store.outbox().size(), 1u);

  Harness after(fast_options(), &store);
  after.runtime_->start();
  ASSERT_TRUE(after.wait_for_delivery("left in outbox"));
  ASSERT_TRUE(after.wait_for_delivery("echo: left in inbox"));
  for (const OutgoingMessage& m : after.sender_->delivered()) {
    if (m.plain_text() == "left in outbox") {
      EXPECT_EQ(m.idempotency_key, "key-from-before");
    }
  }
  EXPECT_TRUE(store.inbox().empty());
  // The dedup memory survived too: the platform's redelivery is a duplicate.
  EXPECT_FALSE(after.on_event(message_event("ev-1", "m-1", "left in inbox")).value());
}

TEST(RuntimeTest, StopCutsARetryWaitShort) {
  Harness h;
  h.sender_->fail_next_sends(1000, Error{errc::rate_limited, "429", std::chrono::hours(1)});
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(run_until(h.io_, [&] { return h.sender_->send_calls() == 1; }));
  h.runtime_->stop();
  EXPECT_TRUE(run_until(h.io_, [&] { return h.runtime_->stopped(); }, 5s));
  // Nothing is lost: the message is still queued for the next run.
  ASSERT_EQ(h.store_.outbox().size(), 1u);
  EXPECT_EQ(h.store_.outbox()[0].state, OutboxState::queued);
}

TEST(RuntimeTest, NewEventIdsAreRandomHex) {
  const std::string a = new_event_id();
  const std::string b = new_event_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

// ---- What the console reads: the message log and the status counters ----

/// The log entries of the runtime, oldest change first.
std::vector<LogEntry> log_entries(Harness& h) { return h.runtime_->message_log().query({}); }

TEST(RuntimeTest, TheLogShowsAnEventAndItsReplyOnceSent) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(run_until(h.io_, [&] {
    auto entries = log_entries(h);
    return entries.size() == 2 && entries[1].outcome == LogOutcome::sent;
  }));
  auto entries = log_entries(h);
  EXPECT_TRUE(entries[0].incoming);
  EXPECT_EQ(entries[0].text, "hi");
  EXPECT_EQ(entries[0].user, "Ann");
  EXPECT_EQ(entries[0].chat_id, "chat-1");
  EXPECT_FALSE(entries[1].incoming);
  EXPECT_EQ(entries[1].text, "echo: hi");
  EXPECT_EQ(entries[1].reply_to, entries[0].id);
  EXPECT_EQ(entries[1].attempts, 1);
  const auto status = h.runtime_->status()[0];
  ASSERT_TRUE(status.last_event_at);
  EXPECT_LE(*status.last_event_at, std::chrono::system_clock::now());
}

TEST(RuntimeTest, ADuplicateIsNotLoggedTwice) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_FALSE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  int incoming = 0;
  for (const LogEntry& entry : log_entries(h)) incoming += entry.incoming ? 1 : 0;
  EXPECT_EQ(incoming, 1);
}

TEST(RuntimeTest, TheLogShowsRetriesAndTheFailureWithThePlatformsError) {
  RuntimeOptions options = fast_options();
  options.max_send_attempts = 2;
  Harness h(options);
  h.sender_->fail_next_sends(1000, Error{errc::platform_unavailable, "503 from the platform"});
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  std::vector<LogOutcome> seen;
  ASSERT_TRUE(run_until(h.io_, [&] {
    auto entries = log_entries(h);
    if (entries.size() == 2 && (seen.empty() || seen.back() != entries[1].outcome)) {
      seen.push_back(entries[1].outcome);
    }
    return !seen.empty() && seen.back() == LogOutcome::failed;
  }));
  const LogEntry failed = log_entries(h)[1];
  EXPECT_EQ(failed.attempts, 2);
  EXPECT_NE(failed.error.find("503 from the platform"), std::string::npos) << failed.error;
  EXPECT_NE(std::find(seen.begin(), seen.end(), LogOutcome::retrying), seen.end())
      << "the first failure shows as a retry";
}

TEST(RuntimeTest, RateLimitWaitsAreCountedWithTheirTime) {
  Harness h;
  Error limited{errc::rate_limited, "429"};
  limited.retry_after = 20ms;
  h.sender_->fail_next_sends(2, limited);
  h.runtime_->start();
  ASSERT_TRUE(h.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  const auto status = h.runtime_->status()[0];
  EXPECT_EQ(status.rate_limit_waits, 2u);
  EXPECT_EQ(status.rate_limited_ms, 40u);
  EXPECT_EQ(status.send_failures, 0u);
}

TEST(RuntimeTest, CallbacksAreCountedAsVerifiedOrRejected) {
  Harness h;
  h.runtime_->start();
  EXPECT_FALSE(h.runtime_->status()[0].last_callback_at);
  EXPECT_TRUE(h.runtime_->status()[0].has_webhook);
  const HttpRequest forged = callback("forged", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", forged).result(), http::status::unauthorized);
  EXPECT_EQ(h.on_webhook("bot", callback("good", "{not json")).result(),
            http::status::bad_request);
  auto status = h.runtime_->status()[0];
  EXPECT_EQ(status.callbacks_rejected, 2u);
  EXPECT_FALSE(status.last_callback_at) << "a rejected callback is not a verified one";
  const HttpRequest genuine = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", genuine).result(), http::status::ok);
  status = h.runtime_->status()[0];
  EXPECT_TRUE(status.last_callback_at);
  EXPECT_EQ(status.callbacks_rejected, 2u);
}

TEST(RuntimeTest, QueueDepthCountsWhatWaits) {
  Harness h;
  h.sender_->fail_prepares(1000);  // nothing leaves the outbox
  h.runtime_->start();
  OutgoingMessage message = OutgoingMessage::plain("queued");
  message.bot = "bot";
  message.chat_id = "chat-1";
  ASSERT_TRUE(run_on(h.io_, h.runtime_->send(message)));
  auto depth = run_on(h.io_, h.runtime_->queue_depth("bot"));
  ASSERT_TRUE(depth);
  EXPECT_EQ(depth->outbox, 1);
  EXPECT_EQ(depth->inbox, 0);
  auto entries = log_entries(h);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].outcome, LogOutcome::queued) << "a proactive message is logged as queued";
}

TEST(RuntimeTest, ABacklogIsAnsweredOnceEachAndInOrder) {
  // Handled quickly, the backlog's items share store transactions; none is lost or repeated.
  Harness h;
  constexpr int kEvents = 150;
  for (int i = 0; i < kEvents; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(h.on_event(message_event("ev-" + n, "m-" + n, "hi " + n)).value());
  }
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] {
    return static_cast<int>(h.sender_->delivered().size()) >= kEvents;
  }));
  const auto delivered = h.sender_->delivered();
  ASSERT_EQ(delivered.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(delivered[i].plain_text(), "echo: hi " + std::to_string(i));
  }
  EXPECT_TRUE(h.store_.inbox().empty());
}

TEST(RuntimeTest, AnImmediateHandlersEventIsHandledAtItsAcceptAndNeverEntersTheInbox) {
  Harness h;
  h.handler_->immediate = true;
  h.runtime_->start();
  const HttpRequest request = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", request).body(), "success");
  // Answered: its reply is queued with the accept, before the answer; the inbox never had it.
  EXPECT_TRUE(h.store_.inbox().empty());
  ASSERT_EQ(h.store_.outbox().size(), 1u);
  EXPECT_EQ(h.store_.outbox()[0].message.plain_text(), "echo: hi");
  EXPECT_EQ(h.store_.outbox()[0].message.idempotency_key.size(), 26u) << "24 + \"-0\"";
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  EXPECT_EQ(h.sender_->delivered()[0].reply_to, "m-1");
  EXPECT_EQ(h.store_.taken_count(), 0);
  // A redelivery is acknowledged and answered nothing more.
  EXPECT_EQ(h.on_webhook("bot", request).body(), "success");
  EXPECT_EQ(h.store_.outbox().size(), 1u);
  ASSERT_TRUE(run_until(h.io_, [&] {
    auto entries = log_entries(h);
    return entries.size() == 2 && entries[1].outcome == LogOutcome::sent;
  })) << "the log shows the event and its reply, once each";
  EXPECT_EQ(log_entries(h)[1].reply_to, log_entries(h)[0].id);
  EXPECT_EQ(h.runtime_->status()[0].events_in, 1u);
  EXPECT_EQ(h.runtime_->status()[0].messages_sent, 1u);
}

TEST(RuntimeTest, AnImmediateHandlersEventIsNotAcknowledgedWhenTheStoreFailsAndQueuesNothing) {
  Harness h;
  h.handler_->immediate = true;
  h.runtime_->start();
  h.store_.fail_accepts(1);
  const HttpRequest request = callback("good", to_json(message_event("ev-1", "m-1", "hi")));
  EXPECT_EQ(h.on_webhook("bot", request).result(), http::status::service_unavailable);
  EXPECT_TRUE(h.store_.outbox().empty());
  EXPECT_EQ(h.on_webhook("bot", request).result(), http::status::ok);
  ASSERT_TRUE(h.wait_for_delivery("echo: hi"));
  EXPECT_EQ(h.count_delivered("echo: hi"), 1);
}

TEST(RuntimeTest, ABotsEventsGoThroughTheInboxUnlessEveryHandlerIsImmediate) {
  // Off by option; a handler that is not immediate.
  RuntimeOptions off = fast_options();
  off.handle_at_accept = false;
  Harness by_option(off);
  Harness mixed;
  mixed.chain_.add(std::make_unique<PassHandler>());
  for (Harness* h : {&by_option, &mixed}) {
    h->handler_->immediate = true;
    h->runtime_->start();
  }
  ASSERT_TRUE(by_option.on_event(message_event("ev-1", "m-1", "hi")).value());
  ASSERT_TRUE(mixed.on_event(message_event("ev-1", "m-1", "hi")).value());
  EXPECT_EQ(by_option.store_.inbox().size(), 1u);
  EXPECT_EQ(mixed.store_.inbox().size(), 1u);
  EXPECT_TRUE(by_option.wait_for_delivery("echo: hi"));
  EXPECT_TRUE(mixed.wait_for_delivery("echo: hi"));
  EXPECT_EQ(by_option.store_.taken_count(), 1);
  EXPECT_EQ(mixed.store_.taken_count(), 1);
}

/// Adds the bot "interactions", whose callbacks' answers may carry the reply
/// (AnsweringWebhook), with every handler immediate; returns its sender.
RecordingSender* add_answering_bot(Harness& h) {
  BotParts parts;
  parts.webhook = std::make_unique<AnsweringWebhook>();
  auto sender = std::make_unique<RecordingSender>();
  RecordingSender* sent = sender.get();
  parts.sender = std::move(sender);
  h.runtime_->add_bot("interactions", "sandbox", h.runtime_->make_bot_strand(), std::move(parts));
  h.handler_->immediate = true;
  return sent;
}

TEST(RuntimeTest, WhileACallbackWaitingForItsReplyIsInTheInboxItsChatsLaterEventsFollowIt) {
  Harness h;
  RecordingSender* sent = add_answering_bot(h);
  h.runtime_->start();
  auto for_bot = [](Event event) {
    event.bot = "interactions";
    return event;
  };
  // An interaction (its answer may carry the reply) whose handling takes 300 ms: it goes
  // through the inbox, and its answer is the deferred ack after 50 ms.
  HttpRequest interaction =
      callback("good", to_json(for_bot(message_event("ev-1", "m-1", "slow command"))));
  interaction.set("X-Test-Reply-Window-Ms", "50");
  EXPECT_EQ(h.on_webhook("interactions", interaction).body(), "success");
  // Meanwhile a message in its chat follows it through the inbox; one in another chat is
  // answered at its accept.
  ASSERT_TRUE(h.on_event(for_bot(message_event("ev-2", "m-2", "after"))).value());
  ASSERT_TRUE(
      h.on_event(for_bot(in_chat(message_event("ev-3", "m-3", "elsewhere"), "chat-2"))).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: after", sent));
  std::vector<std::string> order;
  for (const OutgoingMessage& m : sent->delivered()) order.push_back(m.plain_text());
  EXPECT_EQ(order, (std::vector<std::string>{"echo: elsewhere", "echo: slow command",
                                             "echo: after"}));
  EXPECT_EQ(h.store_.taken_count(), 2) << "the interaction and the message behind it";
  // Once they completed, the chat's next event is answered at its accept again.
  ASSERT_TRUE(h.on_event(for_bot(message_event("ev-4", "m-4", "later"))).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: later", sent));
  EXPECT_EQ(h.store_.taken_count(), 2);
}

TEST(RuntimeTest, OnAStoreOtherInstancesShareACallbackAnsweringBotsEventsAllGoThroughTheInbox) {
  // Its inbox path guard would see only this instance's inbox: one path keeps one order.
  Harness h;
  h.store_.set_shared(true);
  RecordingSender* sent = add_answering_bot(h);
  h.runtime_->start();
  // Two in a row: alone, the guard sends the first event after a start through the inbox too
  // (the inbox is not known yet), and the second one, the inbox known empty, not.
  for (const char* text : {"one", "two"}) {
    Event event = in_chat(message_event(std::string("ev-") + text, text, text), "chat-2");
    event.bot = "interactions";
    ASSERT_TRUE(h.on_event(event).value());
    ASSERT_TRUE(h.wait_for_delivery(std::string("echo: ") + text, sent));
  }
  EXPECT_EQ(h.store_.taken_count(), 2) << "both through the inbox";
  // A bot without such callbacks is still answered at its accept on a shared store.
  ASSERT_TRUE(h.on_event(message_event("ev-3", "m-3", "plain")).value());
  ASSERT_TRUE(h.wait_for_delivery("echo: plain"));
  EXPECT_EQ(h.store_.taken_count(), 2);
}

TEST(RuntimeTest, RepliesGoFromTheInboxWorkerToTheOutboxWorkerEachTakenOnce) {
  Harness h;
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] { return h.runtime_->ready(); }));
  const int taken_at_start = h.store_.outbox_taken_count();
  constexpr int kEvents = 20;
  for (int i = 0; i < kEvents; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(h.on_event(message_event("ev-" + n, "m-" + n, n)).value());
    ASSERT_TRUE(run_until(h.io_, [&] {
      return static_cast<int>(h.sender_->delivered().size()) == i + 1;
    }));
  }
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(h.sender_->delivered()[i].plain_text(), "echo: " + std::to_string(i));
  }
  // Each reply was taken from the store once, as it was queued (that the SQLite store gives
  // them without reading them back is its own business: sqlite_store_test).
  EXPECT_EQ(h.store_.outbox_taken_count() - taken_at_start, kEvents);
  for (const auto& entry : h.store_.outbox()) EXPECT_EQ(entry.state, OutboxState::sent);
}

// ---- The outbox sends to several chats at once, in order within each chat ----

/// A Sender whose sends wait until the test ends them, one by one, with an outcome of its
/// choice: it shows which sends are in flight together. For one io_context on one thread.
class GatedSender final : public Sender {
 public:
  explicit GatedSender(asio::io_context& io) : io_(io) {}

  asio::awaitable<Result<void>> prepare() override {
    ++prepare_calls_;
    prepared_with_sends_in_flight_ = prepared_with_sends_in_flight_ || !calls_.empty();
    co_return Result<void>{};
  }

  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override {
    auto call = std::make_shared<Call>(io_);
    call->text = message.plain_text();
    started_.push_back(call->text);
    calls_.push_back(call);
    max_in_flight_ = std::max(max_in_flight_, calls_.size());
    co_await call->gate.async_wait(asio::as_tuple(asio::use_awaitable));
    std::erase(calls_, call);
    co_return std::move(*call->outcome);
  }

  /// Ends the send of `text` in flight with `outcome`; false when no such send waits.
  bool release(const std::string& text, Result<SentMessage> outcome = SentMessage{"pm"}) {
    for (const auto& call : calls_) {
      if (call->text == text && !call->outcome) {
        call->outcome = std::move(outcome);
        call->gate.cancel();
        return true;
      }
    }
    return false;
  }

  /// The texts of the sends that wait for release(), in the order they started.
  std::vector<std::string> waiting() const {
    std::vector<std::string> out;
    for (const auto& call : calls_) {
      if (!call->outcome) out.push_back(call->text);
    }
    return out;
  }
  bool is_waiting(const std::string& text) const {
    const auto w = waiting();
    return std::find(w.begin(), w.end(), text) != w.end();
  }
  /// Every send call's text, in the order they started (retries included).
  const std::vector<std::string>& started() const { return started_; }
  std::size_t max_in_flight() const { return max_in_flight_; }
  int prepare_calls() const { return prepare_calls_; }
  bool prepared_with_sends_in_flight() const { return prepared_with_sends_in_flight_; }

 private:
  struct Call {
    explicit Call(asio::io_context& io) : gate(io, asio::steady_timer::time_point::max()) {}
    std::string text;
    asio::steady_timer gate;
    std::optional<Result<SentMessage>> outcome;
  };
  asio::io_context& io_;
  std::vector<std::shared_ptr<Call>> calls_;
  std::vector<std::string> started_;
  std::size_t max_in_flight_ = 0;
  int prepare_calls_ = 0;
  bool prepared_with_sends_in_flight_ = false;
};

/// A harness with a second bot, "gated", that sends through a GatedSender.
class GatedHarness : public Harness {
 public:
  explicit GatedHarness(std::size_t concurrency = 16,
                        std::size_t lane_depth = RuntimeOptions{}.outbox_lane_depth,
                        std::size_t held = RuntimeOptions{}.outbox_held)
      : Harness(options_with(concurrency, lane_depth, held)) {
    auto sender = std::make_unique<GatedSender>(io_);
    gated_ = sender.get();
    add_bot_with("gated", std::move(sender));
  }

  /// Queues `text` for chat `chat` of the gated bot; returns its outbox id.
  std::int64_t queue(const std::string& chat, const std::string& text) {
    OutgoingMessage message = OutgoingMessage::plain(text);
    message.bot = "gated";
    message.chat_id = chat;
    return run_on(io_, runtime_->send(message)).value();
  }

  /// Runs until `text` waits in the sender.
  bool wait_started(const std::string& text) {
    return run_until(io_, [&] { return gated_->is_waiting(text); });
  }

  /// Lets the workers run for a while with nothing to wait for: whatever they would start on
  /// their own has started by then.
  void settle(std::chrono::milliseconds time = 100ms) {
    run_until(io_, [] { return false; }, time);
  }

  /// Releases every waiting send with success until no message of the gated bot is queued.
  bool drain() {
    return run_until(io_, [&] {
      for (const std::string& text : gated_->waiting()) gated_->release(text);
      return gated_->waiting().empty() && queued() == 0;
    });
  }

  std::uint64_t sent_count() const { return runtime_->status()[1].messages_sent; }
  int queued() {
    int n = 0;
    for (const auto& entry : store_.outbox()) {
      n += entry.message.bot == "gated" && entry.state == OutboxState::queued ? 1 : 0;
    }
    return n;
  }
  MemoryStore::OutboxEntry entry(std::int64_t id) const {
    for (const auto& e : store_.outbox()) {
      if (e.id == id) return e;
    }
    return {};
  }

  GatedSender* gated_ = nullptr;

 private:
  static RuntimeOptions options_with(std::size_t concurrency, std::size_t lane_depth,
                                     std::size_t held) {
    RuntimeOptions options = fast_options();
    options.send_concurrency = concurrency;
    options.outbox_lane_depth = lane_depth;
    options.outbox_held = held;
    return options;
  }
};

TEST(RuntimeOutboxTest, DifferentChatsAreSentConcurrentlyUpToTheLimit) {
  GatedHarness h(3);
  for (int i = 0; i < 5; ++i) h.queue("chat-" + std::to_string(i), "m" + std::to_string(i));
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] { return h.gated_->waiting().size() == 3; }));
  h.settle();
  EXPECT_EQ(h.gated_->waiting(), (std::vector<std::string>{"m0", "m1", "m2"}))
      << "three at once, the oldest first";
  ASSERT_TRUE(h.gated_->release("m1"));
  ASSERT_TRUE(h.wait_started("m3")) << "a freed slot goes to the next chat";
  h.settle();
  EXPECT_EQ(h.gated_->waiting().size(), 3u);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.gated_->max_in_flight(), 3u);
  EXPECT_EQ(h.gated_->started().size(), 5u) << "each message sent once";
  EXPECT_EQ(h.sent_count(), 5u);
  for (const auto& e : h.store_.outbox()) {
    if (e.message.bot != "gated") continue;
    EXPECT_EQ(e.state, OutboxState::sent);
    EXPECT_EQ(e.attempts, 1);
  }
}

TEST(RuntimeOutboxTest, OneChatIsSentOneMessageAtATimeInQueueOrder) {
  GatedHarness h;
  for (int i = 0; i < 4; ++i) h.queue("chat-a", "a" + std::to_string(i));
  h.runtime_->start();
  for (int i = 0; i < 4; ++i) {
    const std::string text = "a" + std::to_string(i);
    ASSERT_TRUE(h.wait_started(text));
    h.settle(20ms);
    EXPECT_EQ(h.gated_->waiting(), std::vector<std::string>{text}) << "alone in flight";
    ASSERT_TRUE(h.gated_->release(text));
  }
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.gated_->started(), (std::vector<std::string>{"a0", "a1", "a2", "a3"}));
  EXPECT_EQ(h.gated_->max_in_flight(), 1u);
}

TEST(RuntimeOutboxTest, ARetryableFailureHoldsBackItsChatOnlyAndKeepsItsOrder) {
  GatedHarness h;
  const std::int64_t a0 = h.queue("chat-a", "a0");
  h.queue("chat-a", "a1");
  h.queue("chat-b", "b0");
  h.queue("chat-b", "b1");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  ASSERT_TRUE(h.wait_started("b0"));
  Error limited{errc::rate_limited, "429"};
  limited.retry_after = 400ms;
  const auto failed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.gated_->release("a0", limited));
  ASSERT_TRUE(h.gated_->release("b0"));
  // Chat B goes on at once...
  ASSERT_TRUE(h.wait_started("b1"));
  EXPECT_LT(std::chrono::steady_clock::now() - failed_at, 300ms);
  ASSERT_TRUE(h.gated_->release("b1"));
  // ...while chat A's later message waits for the first one's retry.
  EXPECT_FALSE(h.gated_->is_waiting("a1"));
  ASSERT_TRUE(h.wait_started("a0"));
  EXPECT_GE(std::chrono::steady_clock::now() - failed_at, 400ms) << "the retry waits its time";
  h.settle(20ms);
  EXPECT_FALSE(h.gated_->is_waiting("a1")) << "not beside its predecessor's retry either";
  ASSERT_TRUE(h.gated_->release("a0"));
  ASSERT_TRUE(h.wait_started("a1"));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.gated_->started(), (std::vector<std::string>{"a0", "b0", "b1", "a0", "a1"}));
  EXPECT_EQ(h.entry(a0).attempts, 2);
  const auto status = h.runtime_->status()[1];
  EXPECT_EQ(status.rate_limit_waits, 1u);
  EXPECT_EQ(status.rate_limited_ms, 400u);
  EXPECT_EQ(status.messages_sent, 4u);
  EXPECT_EQ(status.send_failures, 0u);
}

TEST(RuntimeOutboxTest, AFailureForGoodLetsTheChatsNextMessageGo) {
  GatedHarness h;
  const std::int64_t a0 = h.queue("chat-a", "a0");
  const std::int64_t a1 = h.queue("chat-a", "a1");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  ASSERT_TRUE(h.gated_->release("a0", Error{errc::platform_rejected, "50007"}));
  ASSERT_TRUE(h.wait_started("a1"));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.entry(a0).state, OutboxState::failed);
  EXPECT_EQ(h.entry(a1).state, OutboxState::sent);
  EXPECT_EQ(h.runtime_->status()[1].send_failures, 1u);
}

TEST(RuntimeOutboxTest, AMessageInFlightIsNotSentAgainWhenTheQueueIsReadAgain) {
  GatedHarness h;
  h.queue("chat-a", "a0");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  // New messages make the worker take from the store again, also after a second: a0 is due and
  // queued in the store all along.
  h.queue("chat-a", "a1");
  h.queue("chat-b", "b0");
  ASSERT_TRUE(h.wait_started("b0"));
  ASSERT_TRUE(h.gated_->release("b0"));
  h.settle(1200ms);
  h.queue("chat-c", "c0");
  ASSERT_TRUE(h.wait_started("c0"));
  EXPECT_EQ(h.gated_->waiting(), (std::vector<std::string>{"a0", "c0"}));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.gated_->started(), (std::vector<std::string>{"a0", "b0", "c0", "a1"}));
}

TEST(RuntimeOutboxTest, AChatsNextMessageGoesWhileTheSentOneIsRecordedAndNothingIsSentTwice) {
  GatedHarness h;
  h.store_.hold_sent_records(true);
  const std::int64_t a0 = h.queue("chat-a", "a0");
  const std::int64_t a1 = h.queue("chat-a", "a1");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  ASSERT_TRUE(h.gated_->release("a0"));
  ASSERT_TRUE(h.wait_started("a1")) << "the platform has a0: a1 need not wait for its record";
  EXPECT_EQ(h.entry(a0).state, OutboxState::queued) << "its record is still being written";
  ASSERT_TRUE(h.gated_->release("a1"));
  // Both are queued in the store while their records wait; the worker reads the queue again
  // (a new message) and, after a second, from the start: neither is sent again.
  h.settle(1200ms);
  h.queue("chat-c", "c0");
  ASSERT_TRUE(h.wait_started("c0"));
  ASSERT_TRUE(h.gated_->release("c0"));
  h.settle(50ms);
  EXPECT_EQ(h.gated_->started(), (std::vector<std::string>{"a0", "a1", "c0"}));
  h.store_.hold_sent_records(false);
  ASSERT_TRUE(run_until(h.io_, [&] { return h.queued() == 0; }));
  EXPECT_EQ(h.entry(a0).state, OutboxState::sent);
  EXPECT_EQ(h.entry(a1).state, OutboxState::sent);
  EXPECT_EQ(h.sent_count(), 3u);
}

TEST(RuntimeOutboxTest, AChatWithALongBacklogDoesNotHoldUpTheOthers) {
  GatedHarness h(4, /*lane_depth=*/32);
  constexpr int kBacklog = 200;  // more than the worker holds of one chat, or reads at once
  for (int i = 0; i < kBacklog; ++i) h.queue("chat-a", "a" + std::to_string(i));
  h.queue("chat-b", "b0");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  ASSERT_TRUE(h.wait_started("b0")) << "chat B's message is read past chat A's backlog";
  ASSERT_TRUE(h.drain());
  std::vector<std::string> a_order;
  for (const std::string& text : h.gated_->started()) {
    if (text.starts_with("a")) a_order.push_back(text);
  }
  ASSERT_EQ(a_order.size(), static_cast<std::size_t>(kBacklog)) << "each once";
  for (int i = 0; i < kBacklog; ++i) EXPECT_EQ(a_order[i], "a" + std::to_string(i));
  // The worker never had more of chat A's backlog out than outbox_lane_depth (32 here), and took
  // each message once.
  EXPECT_LE(h.store_.most_out_in_a_lane(), 32u);
  EXPECT_EQ(h.store_.outbox_taken_count(), kBacklog + 1);
}

TEST(RuntimeOutboxTest, MessagesPastWhatTheWorkerHoldsAreReadOnLaterEachOnceInOrder) {
  GatedHarness h(4, /*lane_depth=*/4, /*held=*/8);
  constexpr int kChats = 5;
  constexpr int kPerChat = 12;  // 60 queued: far more than the 8 held, 3 times a lane's depth
  for (int i = 0; i < kPerChat; ++i) {
    for (int c = 0; c < kChats; ++c) {
      h.queue("chat-" + std::to_string(c), std::to_string(c) + ":" + std::to_string(i));
    }
  }
  h.runtime_->start();
  // Replies queued while the worker is full go behind the backlog, not before it.
  ASSERT_TRUE(h.wait_started("0:0"));
  h.queue("chat-0", "0:" + std::to_string(kPerChat));
  ASSERT_TRUE(h.drain());
  std::map<std::string, std::vector<int>> order;
  for (const std::string& text : h.gated_->started()) {
    const auto colon = text.find(':');
    order[text.substr(0, colon)].push_back(std::stoi(text.substr(colon + 1)));
  }
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kChats));
  for (const auto& [chat, sent] : order) {
    const int count = chat == "0" ? kPerChat + 1 : kPerChat;
    ASSERT_EQ(sent.size(), static_cast<std::size_t>(count)) << "chat " << chat << ": each once";
    for (int i = 0; i < count; ++i) EXPECT_EQ(sent[i], i) << "chat " << chat << " in order";
  }
  EXPECT_EQ(h.sent_count(), static_cast<std::size_t>(kChats * kPerChat + 1));
}

TEST(RuntimeOutboxTest, AReplyHandedOverWhileTheWorkerIsFullGoesBehindTheChatsQueuedMessages) {
  GatedHarness h(4, /*lane_depth=*/4, /*held=*/8);
  constexpr int kChats = 100;  // one message each: the first read (64) fills the worker
  for (int c = 0; c < kChats; ++c) h.queue("chat-" + std::to_string(c), std::to_string(c));
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("0"));
  // The last chat's queued message is not read yet; the reply to an event in that chat comes
  // from the inbox worker in memory, and must not overtake it.
  Event event = message_event("ev-late", "m-late", "late", "gated");
  event.chat = Chat{"chat-99", ChatType::private_chat, std::nullopt};  // queue()'s lane
  ASSERT_TRUE(h.on_event(std::move(event)).value());
  h.settle(50ms);  // handled and handed over while the first sends are still held
  ASSERT_TRUE(h.drain());
  const auto& started = h.gated_->started();
  const auto queued = std::find(started.begin(), started.end(), "99");
  const auto reply = std::find(started.begin(), started.end(), "echo: late");
  ASSERT_NE(queued, started.end());
  ASSERT_NE(reply, started.end());
  EXPECT_LT(queued - started.begin(), reply - started.begin()) << "chat-99 in queue order";
  EXPECT_EQ(h.sent_count(), static_cast<std::size_t>(kChats + 1));
}

TEST(RuntimeOutboxTest, ARejectedTokenStopsNewSendsAndPreparesOnceTheOthersEnded) {
  GatedHarness h;
  h.queue("chat-a", "a0");
  h.queue("chat-b", "b0");
  h.queue("chat-c", "c0");
  h.runtime_->start();
  ASSERT_TRUE(run_until(h.io_, [&] { return h.gated_->waiting().size() == 3; }));
  EXPECT_EQ(h.gated_->prepare_calls(), 1);
  h.queue("chat-d", "d0");
  ASSERT_TRUE(h.wait_started("d0"));
  ASSERT_TRUE(h.gated_->release("a0", Error{errc::token_rejected, "401"}));
  ASSERT_TRUE(run_until(h.io_, [&] { return !h.runtime_->status()[1].ready; }));
  h.queue("chat-e", "e0");
  h.settle();
  EXPECT_FALSE(h.gated_->is_waiting("e0")) << "nothing new goes out with a rejected token";
  EXPECT_EQ(h.gated_->prepare_calls(), 1) << "not while b0, c0, d0 are in flight";
  ASSERT_TRUE(h.gated_->release("b0"));
  ASSERT_TRUE(h.gated_->release("c0"));
  h.settle(20ms);
  EXPECT_EQ(h.gated_->prepare_calls(), 1);
  ASSERT_TRUE(h.gated_->release("d0"));
  ASSERT_TRUE(h.wait_started("e0"));
  EXPECT_EQ(h.gated_->prepare_calls(), 2);
  EXPECT_FALSE(h.gated_->prepared_with_sends_in_flight());
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(std::count(h.gated_->started().begin(), h.gated_->started().end(), "a0"), 2);
  EXPECT_EQ(h.sent_count(), 5u);
}

TEST(RuntimeOutboxTest, StopWaitsForTheSendsInFlightAndLosesNothing) {
  GatedHarness h;
  const std::int64_t a0 = h.queue("chat-a", "a0");
  const std::int64_t a1 = h.queue("chat-a", "a1");
  const std::int64_t b0 = h.queue("chat-b", "b0");
  h.runtime_->start();
  ASSERT_TRUE(h.wait_started("a0"));
  ASSERT_TRUE(h.wait_started("b0"));
  h.runtime_->stop();
  h.settle(20ms);
  EXPECT_FALSE(h.runtime_->stopped()) << "two sends are in hand";
  ASSERT_TRUE(h.gated_->release("a0"));
  ASSERT_TRUE(h.gated_->release("b0", Error{errc::timeout, "slow"}));
  ASSERT_TRUE(run_until(h.io_, [&] { return h.runtime_->stopped(); }));
  EXPECT_FALSE(h.gated_->is_waiting("a1")) << "nothing new starts after stop()";
  EXPECT_EQ(h.entry(a0).state, OutboxState::sent);
  EXPECT_EQ(h.entry(a1).state, OutboxState::queued);
  EXPECT_EQ(h.entry(b0).state, OutboxState::queued);
  EXPECT_EQ(h.entry(b0).attempts, 1);
}

}  // namespace
}  // namespace botgate
