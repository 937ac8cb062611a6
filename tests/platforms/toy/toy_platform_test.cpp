#include "platforms/toy/toy_platform.hpp"

#include "botgate/net/http_client.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace botgate::toy {
namespace {

using ::botgate::test::fails_with;
using ::botgate::test::json_response;

ToyConfig config() { return ToyConfig{"toy-bot", "s3cret", "http://127.0.0.1:9"}; }

HttpRequest callback(std::string body, std::string secret = "s3cret") {
  HttpRequest request{http::verb::post, "/webhook/toy-bot", 11};
  if (!secret.empty()) request.set(kSecretHeader, secret);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

constexpr const char* kMessage = R"({"id":"m1","chat":"c1","user":"u1","text":"hi @all"})";

TEST(ToyWebhook, AMessageWithTheSecretIsOneEvent) {
  auto outcome = ToyWebhook(config()).handle(callback(kMessage));
  ASSERT_TRUE(outcome) << outcome.error().detail;
  EXPECT_EQ(outcome->ack.result_int(), 200u);
  ASSERT_EQ(outcome->events.size(), 1u);
  const Event& event = outcome->events[0];
  EXPECT_EQ(event.platform, "toy");
  EXPECT_EQ(event.bot, "toy-bot");
  EXPECT_EQ(event.platform_event_id, "m1");
  EXPECT_EQ(event.chat.id, "c1");
  EXPECT_EQ(event.sender.id, "u1");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "hi @all");
  EXPECT_TRUE(event.message->mentions_bot);
}

TEST(ToyWebhook, AWrongOrMissingSecretIs401AndNoEvent) {
  EXPECT_TRUE(fails_with(ToyWebhook(config()).handle(callback(kMessage, "guess")), errc::bad_token,
                         401));
  EXPECT_TRUE(fails_with(ToyWebhook(config()).handle(callback(kMessage, "")), errc::bad_token, 401));
  // One byte longer than the secret: the comparison looks at lengths too.
  EXPECT_TRUE(fails_with(ToyWebhook(config()).handle(callback(kMessage, "s3cret!")),
                         errc::bad_token, 401));
}

TEST(ToyWebhook, AMalformedCallbackIs400) {
  EXPECT_TRUE(fails_with(ToyWebhook(config()).handle(callback("not json")),
                         errc::malformed_payload, 400));
  EXPECT_TRUE(fails_with(ToyWebhook(config()).handle(callback(R"({"id":"m1","chat":"c1"})")),
                         errc::malformed_payload, 400));
}

TEST(ToySendResponse, StatusDecidesWhatBecomesOfTheMessage) {
  auto sent = read_send_response(json_response(http::status::ok, R"({"id":"t-1"})"));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->platform_message_id, "t-1");
  auto limited = read_send_response(json_response(http::status::too_many_requests, "{}"));
  ASSERT_FALSE(limited);
  EXPECT_TRUE(limited.error().is(errc::rate_limited));
  auto down = read_send_response(json_response(http::status::bad_gateway, "<html/>"));
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().is(errc::platform_unavailable));
  EXPECT_TRUE(is_retryable(down.error()));
  auto refused = read_send_response(json_response(http::status::bad_request, "{}"));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::platform_rejected));
  EXPECT_FALSE(is_retryable(refused.error()));
}

TEST(ToyConfigTest, SecretIsRequiredAndApiBaseDefaults) {
  BotSettings settings;
  settings.name = "toy-bot";
  settings.platform = "toy";
  EXPECT_THROW(toy_config_from(settings), std::invalid_argument);
  settings.values["secret"] = std::string("s");
  EXPECT_EQ(toy_config_from(settings).api_base, kDefaultApiBase);
  settings.api_base = "http://127.0.0.1:1234/";
  EXPECT_EQ(toy_config_from(settings).api_base, "http://127.0.0.1:1234");
}

TEST(ToySender, PostsTheReplyWithTheSecretToApiBase) {
  test::TestHttpServer server({}, [](const HttpRequest&) {
    return json_response(http::status::ok, R"({"id":"t-7"})");
  });
  asio::io_context io;
  net::HttpClient http(io.get_executor(), {});
  test::MemoryStore store;
  platforms::PlatformServices services{io.get_executor(), http, store};
  ToyConfig cfg = config();
  cfg.api_base = server.url("/api");
  ToySender sender(cfg, services);
  OutgoingMessage message = OutgoingMessage::plain("Hello, @all");
  message.chat_id = "c1";
  message.reply_to = "m1";
  message.idempotency_key = "k-1";
  auto sent = test::run_on(io, sender.send(message));
  ASSERT_TRUE(sent) << sent.error().detail;
  EXPECT_EQ(sent->platform_message_id, "t-7");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/api/messages");
  EXPECT_EQ(requests[0][kSecretHeader], "s3cret");
  const auto body = boost::json::parse(requests[0].body()).as_object();
  EXPECT_EQ(body.at("chat").as_string(), "c1");
  EXPECT_EQ(body.at("reply_to").as_string(), "m1");
  EXPECT_EQ(body.at("key").as_string(), "k-1");
  EXPECT_EQ(body.at("text").as_string(), "Hello, @\u200ball") << "user text never notifies all";
}

TEST(ToyDescriptor, IsAPlatformLikeTheOthers) {
  const platforms::PlatformDescriptor d = toy_descriptor();
  EXPECT_EQ(d.name, "toy");
  EXPECT_FALSE(d.builtin_bot);
  ASSERT_EQ(d.settings.size(), 1u);
  EXPECT_EQ(d.settings[0].key, "secret");
  EXPECT_TRUE(d.settings[0].required);
  platforms::PlatformRegistry registry;
  platforms::register_all_platforms(registry);
  registry.add(d);  // beside botgate's own, without all_platforms.cpp
  ASSERT_NE(registry.find("toy"), nullptr);
  const auto names = registry.configurable_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "toy"), names.end());
}

}  // namespace
}  // namespace botgate::toy
