#include "botgate/api/console.hpp"

#include "botgate/api/console_assets.hpp"
#include "botgate/api/log_api.hpp"
#include "botgate/api/status_api.hpp"
#include "support/api_request.hpp"
#include "support/memory_store.hpp"
#include "support/recording_sender.hpp"
#include "support/run_until.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace botgate::api {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

TEST(ConsoleAssets, ThePageAndItsFilesAreEmbedded) {
  std::vector<std::string> names;
  for (const Asset& asset : console_assets()) {
    names.emplace_back(asset.name);
    EXPECT_FALSE(asset.bytes.empty()) << asset.name;
  }
  ASSERT_NE(std::find(names.begin(), names.end(), "index.html"), names.end());
  ASSERT_NE(std::find(names.begin(), names.end(), "console.js"), names.end());
  ASSERT_NE(std::find(names.begin(), names.end(), "console.css"), names.end());
  for (const Asset& asset : console_assets()) {
    if (asset.name == "index.html") {
      EXPECT_NE(asset.bytes.find("/assets/console.js"), std::string_view::npos);
      EXPECT_EQ(asset.bytes.find("https://"), std::string_view::npos) << "no CDN";
    }
  }
}

TEST(ConsoleAssets, ContentTypesByExtension) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("console.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("console.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("notes"), "application/octet-stream");
}

TEST(LogApi, FilterFromTheQuery) {
  auto filter = log_filter_from("/api/v1/log?bot=sandbox&chat=tab-1&q=hello%20there&after=7&limit=5");
  ASSERT_TRUE(filter);
  EXPECT_EQ(filter->bot, "sandbox");
  EXPECT_EQ(filter->chat, "tab-1");
  EXPECT_EQ(filter->text, "hello there");
  EXPECT_EQ(filter->after, 7u);
  EXPECT_EQ(filter->limit, 5u);
  auto defaults = log_filter_from("/api/v1/log");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->after, 0u);
  EXPECT_EQ(defaults->limit, 200u);
  EXPECT_FALSE(log_filter_from("/api/v1/log?after=x"));
  EXPECT_FALSE(log_filter_from("/api/v1/log?after=-1"));
  EXPECT_FALSE(log_filter_from("/api/v1/log?limit=0"));
  EXPECT_FALSE(log_filter_from("/api/v1/log?limit=1001"));
}

TEST(StatusApi, ABotsJsonHasItsCountersQueuesAndTimes) {
  BotStatus bot;
  bot.name = "feishu";
  bot.platform = "feishu";
  bot.ready = true;
  bot.has_webhook = true;
  bot.events_in = 3;
  bot.messages_sent = 2;
  bot.rate_limit_waits = 1;
  bot.rate_limited_ms = 1500;
  bot.token_expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  bot.connections.push_back({"resumed", "", 2, 1});
  const json::object out = bot_status_json(bot, QueueDepth{4, 5});
  EXPECT_EQ(out.at("webhook_path").as_string(), "/webhook/feishu");
  EXPECT_EQ(out.at("events_in").to_number<int>(), 3);
  EXPECT_EQ(out.at("inbox_depth").to_number<int>(), 4);
  EXPECT_EQ(out.at("outbox_depth").to_number<int>(), 5);
  EXPECT_EQ(out.at("rate_limited_ms").to_number<int>(), 1500);
  EXPECT_EQ(out.at("token_expires_at").as_string(), "2027-01-15T08:00:00Z");
  EXPECT_TRUE(out.at("last_event_at").is_null());
  const auto& connection = out.at("connections").as_array().at(0).as_object();
  EXPECT_EQ(connection.at("state").as_string(), "resumed");
  EXPECT_EQ(connection.at("reconnects").to_number<int>(), 2);
  bot.has_webhook = false;
  EXPECT_TRUE(bot_status_json(bot, {}).at("webhook_path").is_null());
}

/// Takes a body {"chat": .., "text": ..} as one event for its bot, like the sandbox does.
class JsonWebhook final : public WebhookHandler {
 public:
  Result<WebhookOutcome> handle(const HttpRequest& request) const override {
    auto body = json::parse(request.body()).as_object();
    Event event;
    event.platform_event_id = std::string(body.at("text").as_string());
    event.chat.id = std::string(body.at("chat").as_string());
    event.sender = User{"u", "Ann", false};
    event.message = Message{event.platform_event_id, event.platform_event_id, true, {}};
    WebhookOutcome outcome;
    outcome.events.push_back(std::move(event));
    outcome.ack = make_response(http::status::accepted, "{}");
    return outcome;
  }
};

class EchoHandler final : public Handler {
 public:
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override {
    ctx.reply(OutgoingMessage::plain("echo: " + event.message->text));
    co_return HandlerResult::done;
  }
};

/// The console's routes over a real Runtime with one bot, "sandbox".
class ConsoleRoutes : public ::testing::Test {
 protected:
  void build() {
    access_.set_token(std::string(kToken));
    access_.add_listen("127.0.0.1", 8080);
    chain_.add(std::make_unique<EchoHandler>());
    runtime_ = std::make_unique<Runtime>(io_, store_, chain_);
    BotParts parts;
    parts.webhook = std::make_unique<JsonWebhook>();
    parts.sender = std::make_unique<test::RecordingSender>();
    parts.webhook_public = false;  // as the wiring makes a built-in bot's
    runtime_->add_bot("sandbox", "sandbox", runtime_->make_bot_strand(), std::move(parts));
    add_console(router_, *runtime_, access_, "sandbox");
    add_log_api(router_, runtime_->message_log(), access_);
    add_status_api(router_, *runtime_, access_, {{"discord", "qq"}, {}});
    runtime_->start();
  }
  void TearDown() override {
    runtime_->stop();
    EXPECT_TRUE(test::run_until(io_, [this] { return runtime_->stopped(); }));
  }

  static constexpr std::string_view kToken = "console-token";

  HttpResponse call(http::verb verb, std::string target, std::string body = "",
                    std::string_view token = kToken) {
    const HttpRequest request = test::api_request(verb, std::move(target), std::move(body), token);
    return test::run_on(io_, router_.dispatch(request)).response;
  }

  ApiAccess access_;
  asio::io_context io_;
  test::MemoryStore store_;
  HandlerChain chain_;
  std::unique_ptr<Runtime> runtime_;
  net::Router router_;
};

TEST_F(ConsoleRoutes, AMessageTypedInThePageIsAnsweredAndLogged) {
  build();
  const HttpResponse page = call(http::verb::get, "/");
  EXPECT_EQ(page.result(), http::status::ok);
  EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(page["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(call(http::verb::get, "/assets/console.js").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/assets/nope.js").result(), http::status::not_found);

  const HttpResponse posted = call(http::verb::post, "/api/v1/sandbox/messages",
                                   R"({"chat":"tab-1","text":"hi"})");
  EXPECT_EQ(posted.result(), http::status::accepted);
  json::array entries;
  ASSERT_TRUE(test::run_until(io_, [&] {
    const HttpResponse log = call(http::verb::get, "/api/v1/log?chat=tab-1");
    entries = json::parse(log.body()).at("entries").as_array();
    return entries.size() == 2 && entries[1].at("outcome").as_string() == "sent";
  }));
  EXPECT_EQ(entries[0].at("direction").as_string(), "in");
  EXPECT_EQ(entries[0].at("text").as_string(), "hi");
  EXPECT_EQ(entries[1].at("direction").as_string(), "out");
  EXPECT_EQ(entries[1].at("text").as_string(), "echo: hi");
  EXPECT_EQ(entries[1].at("reply_to").as_string(), entries[0].at("id").as_string());

  const json::object status =
      json::parse(call(http::verb::get, "/api/v1/status").body()).as_object();
  EXPECT_EQ(status.at("platforms").as_array().size(), 2u);
  const auto& bot = status.at("bots").as_array().at(0).as_object();
  EXPECT_EQ(bot.at("name").as_string(), "sandbox");
  EXPECT_EQ(bot.at("events_in").to_number<int>(), 1);
  EXPECT_TRUE(bot.at("webhook_path").is_null()) << "the sandbox is reached through the API only";
  EXPECT_EQ(bot.at("concurrency").to_number<std::size_t>(), RuntimeOptions{}.inbox_concurrency);
}

TEST_F(ConsoleRoutes, TheDataNeedsTheTokenButThePageDoesNot) {
  build();
  EXPECT_EQ(call(http::verb::get, "/", "", "").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/assets/console.js", "", "").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/api/v1/status", "", "").result(), http::status::unauthorized);
  EXPECT_EQ(call(http::verb::get, "/api/v1/log", "", "").result(), http::status::unauthorized);
  EXPECT_EQ(call(http::verb::post, "/api/v1/sandbox/messages", R"({"chat":"c","text":"x"})", "")
                .result(),
            http::status::unauthorized);
  EXPECT_TRUE(store_.inbox().empty()) << "a refused message is not accepted";
  EXPECT_EQ(call(http::verb::get, "/api/v1/status").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::post, "/api/v1/sandbox/messages", R"({"chat":"c","text":"x"})")
                .result(),
            http::status::accepted);
}

TEST_F(ConsoleRoutes, ATextPlainPostIsRefusedBeforeTheSandboxSeesIt) {
  build();
  HttpRequest request = test::api_request(http::verb::post, "/api/v1/sandbox/messages",
                                          R"({"chat":"c","text":"x"})", kToken);
  request.set(http::field::content_type, "text/plain;charset=UTF-8");
  EXPECT_EQ(test::run_on(io_, router_.dispatch(request)).response.result(),
            http::status::unsupported_media_type);
  EXPECT_TRUE(store_.inbox().empty());
}

TEST_F(ConsoleRoutes, TheRoutesRefuseAnotherHost) {
  build();
  for (const char* target : {"/", "/assets/console.js", "/api/v1/status", "/api/v1/log"}) {
    HttpRequest request{http::verb::get, target, 11};
    request.set(http::field::host, "rebound.example:8080");
    request.set(http::field::authorization, "Bearer " + std::string(kToken));
    EXPECT_EQ(test::run_on(io_, router_.dispatch(request)).response.result(),
              http::status::misdirected_request)
        << target;
  }
}

TEST_F(ConsoleRoutes, TheLogLongPollReturnsWhenAMatchingEntryArrives) {
  build();
  const std::uint64_t seq = runtime_->message_log().seq();
  std::thread writer([this] {
    std::this_thread::sleep_for(100ms);
    Event other;
    other.id = "e-other";
    other.bot = "sandbox";
    other.chat.id = "elsewhere";
    runtime_->message_log().add_event(other);  // wakes the poll, which does not match: waits on
    std::this_thread::sleep_for(100ms);
    Event mine = other;
    mine.id = "e-mine";
    mine.chat.id = "tab-9";
    runtime_->message_log().add_event(mine);
  });
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse log = call(http::verb::get, "/api/v1/log?chat=tab-9&wait_ms=10000&after=" +
                                                     std::to_string(seq));
  writer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  const json::object body = json::parse(log.body()).as_object();
  const auto& entries = body.at("entries").as_array();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("id").as_string(), "in:e-mine");
  EXPECT_EQ(body.at("seq").to_number<std::uint64_t>(), seq + 2);
}

TEST_F(ConsoleRoutes, TheLogLongPollEndsEmptyAfterItsWait) {
  build();
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse log = call(http::verb::get, "/api/v1/log?wait_ms=200&after=0");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_TRUE(json::parse(log.body()).at("entries").as_array().empty());
  EXPECT_EQ(call(http::verb::get, "/api/v1/log?wait_ms=soon").result(),
            http::status::bad_request);
}

}  // namespace
}  // namespace botgate::api
