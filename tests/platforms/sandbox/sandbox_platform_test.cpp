#include "botgate/platforms/sandbox/sandbox_platform.hpp"

#include "support/run_sync.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace botgate::platforms {
namespace {

HttpRequest post(std::string body) {
  HttpRequest request{http::verb::post, "/api/v1/sandbox/messages", 11};
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

SandboxWebhook webhook() { return SandboxWebhook({{"discord", "feishu"}}); }

TEST(SandboxWebhook, AMessageBecomesOneEventThatLooksLikeThePlatformChosen) {
  auto outcome = webhook().handle(
      post(R"({"chat_id":"tab-1a2b","user":"Ann","text":"ping","platform":"discord",
               "chat_type":"group"})"));
  ASSERT_TRUE(outcome) << outcome.error().message();
  ASSERT_EQ(outcome->events.size(), 1u);
  const Event& event = outcome->events[0];
  EXPECT_EQ(event.platform, "discord");
  EXPECT_EQ(event.chat.id, "tab-1a2b");
  EXPECT_EQ(event.chat.type, ChatType::group);
  EXPECT_EQ(event.sender.name, "Ann");
  EXPECT_FALSE(event.sender.is_bot);
  EXPECT_EQ(event.platform_event_id, event.id) << "each message is new to dedup";
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "ping");
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(outcome->ack.result(), http::status::accepted);
  const auto ack = boost::json::parse(outcome->ack.body()).as_object();
  EXPECT_EQ(ack.at("event_id").as_string(), event.id);
  EXPECT_EQ(ack.at("log_id").as_string(), "in:" + event.id);
}

TEST(SandboxWebhook, DefaultsToTheSandboxPlatformAndAPrivateChat) {
  auto outcome = webhook().handle(post(R"({"chat_id":"tab-1","text":"hi"})"));
  ASSERT_TRUE(outcome);
  const Event& event = outcome->events[0];
  EXPECT_EQ(event.platform, "sandbox");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_FALSE(event.sender.name.empty());
  auto again = webhook().handle(post(R"({"chat_id":"tab-1","text":"hi"})"));
  ASSERT_TRUE(again);
  EXPECT_NE(again->events[0].id, event.id) << "typing the same text twice is two messages";
}

TEST(SandboxWebhook, BadMessagesAre400) {
  const std::string too_long(kSandboxMaxTextBytes + 1, 'x');
  for (const std::string& body : {std::string("not json"), std::string(R"(["a"])"),
                                 std::string(R"({"text":"hi"})"),
                                 std::string(R"({"chat_id":"","text":"hi"})"),
                                 std::string(R"({"chat_id":"tab 1","text":"hi"})"),
                                 std::string(R"({"chat_id":"tab-1","text":""})"),
                                 std::string(R"({"chat_id":"tab-1","text":"hi","platform":"irc"})"),
                                 std::string(R"({"chat_id":"tab-1","text":"hi","chat_type":"x"})"),
                                 R"({"chat_id":"tab-1","text":")" + too_long + R"("})"}) {
    auto outcome = webhook().handle(post(body));
    ASSERT_FALSE(outcome) << body.substr(0, 80);
    EXPECT_EQ(http_status_for(outcome.error()), 400) << body.substr(0, 80);
  }
  HttpRequest get{http::verb::get, "/api/v1/sandbox/messages", 11};
  EXPECT_FALSE(webhook().handle(get));
}

TEST(SandboxSender, DeliversAtOnce) {
  SandboxSender sender;
  EXPECT_TRUE(test::run_sync(sender.prepare()));
  OutgoingMessage message = OutgoingMessage::plain("Hello, hi");
  message.idempotency_key = "abc-0";
  auto sent = test::run_sync(sender.send(message));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->platform_message_id, "sandbox-abc-0");
  EXPECT_FALSE(sender.token_expires_at());
}

}  // namespace
}  // namespace botgate::platforms

namespace botgate::platforms {
namespace {

TEST(SandboxParts, TheCallbackIsNotPublic) {
  // The console's messages come through the API behind its token, never /webhook/sandbox:
  // the platform declares its one bot built in, and the wiring makes such a bot's callback
  // API-only (BotParts::webhook_public; tests/integration/test_console.py posts to
  // /webhook/sandbox and gets 404).
  const PlatformDescriptor descriptor = sandbox_descriptor();
  EXPECT_EQ(descriptor.name, "sandbox");
  ASSERT_TRUE(descriptor.builtin_bot);
  EXPECT_EQ(descriptor.builtin_bot->name, "sandbox");
  EXPECT_NE(descriptor.builtin_bot->description.find("sandbox"), std::string::npos);
  EXPECT_TRUE(descriptor.settings.empty()) << "a built-in bot has no [[bot]] keys";
  const BotParts parts = make_sandbox_parts({});
  EXPECT_TRUE(parts.webhook);
  EXPECT_TRUE(parts.sender);
}

TEST(SandboxParts, IsRegisteredWithEveryPlatform) {
  PlatformRegistry registry;
  register_all_platforms(registry);
  const PlatformDescriptor* sandbox = registry.builtin_bot_owner("sandbox");
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->name, "sandbox");
  EXPECT_EQ(registry.with_builtin_bot().size(), 1u);
  const auto configurable = registry.configurable_names();
  EXPECT_EQ(std::find(configurable.begin(), configurable.end(), "sandbox"), configurable.end());
  EXPECT_EQ(configurable.size() + 1, registry.names().size());
}

}  // namespace
}  // namespace botgate::platforms
