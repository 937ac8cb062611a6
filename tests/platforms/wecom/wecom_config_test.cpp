#include "botgate/platforms/wecom/wecom_config.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/platforms/wecom/wecom_platform.hpp"
#include "support/memory_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <string>

namespace botgate::wecom {
namespace {

constexpr const char* kKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

BotSettings settings(std::map<std::string, SettingValue> values) {
  BotSettings s;
  s.name = "wecom";
  s.platform = "wecom";
  s.values = std::move(values);
  return s;
}

/// The message of the std::invalid_argument that reading `s` throws, or "" when it does not.
std::string rejection(const BotSettings& s) {
  try {
    (void)wecom_config_from(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(WecomConfigTest, AGroupBotThatOnlySendsNeedsJustItsWebhook) {
  const std::string hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k";
  const WecomConfig config = wecom_config_from(settings({{"webhook_url", hook}}));
  EXPECT_EQ(config.kind, WecomKind::group);
  EXPECT_EQ(config.api_base, "https://qyapi.weixin.qq.com");
  EXPECT_FALSE(config.receives_callbacks());
}

TEST(WecomConfigTest, CallbackKeysAreDecoded) {
  BotSettings s = settings({{"token", std::string("QDG6eK")},
                            {"encoding_aes_key", std::string(kKey)},
                            {"mention_name", std::string("@RobotA")}});
  s.api_base = "http://127.0.0.1:9000/";
  const WecomConfig config = wecom_config_from(s);
  EXPECT_TRUE(config.receives_callbacks());
  EXPECT_EQ(crypto::to_hex(config.aes_key),
            "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
  EXPECT_EQ(config.api_base, "http://127.0.0.1:9000");
  EXPECT_EQ(config.mention_name, "RobotA");
}

TEST(WecomConfigTest, AnUnusableEncodingAesKeyIsNamedButNotRepeated) {
  const std::string message = rejection(
      settings({{"token", std::string("t")}, {"encoding_aes_key", std::string("tooShort123")}}));
  EXPECT_NE(message.find("encoding_aes_key"), std::string::npos) << message;
  EXPECT_NE(message.find("43"), std::string::npos) << message;
  EXPECT_EQ(message.find("tooShort123"), std::string::npos) << message;
  EXPECT_NE(rejection(settings({{"token", std::string("t")},
                                {"encoding_aes_key", std::string(kKey).substr(0, 42) + "!"}}))
                .find("encoding_aes_key"),
            std::string::npos);
}

TEST(WecomConfigTest, KindMustBeKnown) {
  const std::string message = rejection(settings({{"kind", std::string("robot")}}));
  EXPECT_NE(message.find("kind"), std::string::npos) << message;
}

TEST(WecomConfigTest, EachKindNeedsItsKeys) {
  EXPECT_NE(rejection(settings({})).find("webhook_url"), std::string::npos);
  EXPECT_NE(rejection(settings({{"token", std::string("t")}})).find("encoding_aes_key"),
            std::string::npos);
  EXPECT_NE(rejection(settings({{"encoding_aes_key", std::string(kKey)}})).find("token"),
            std::string::npos);
  EXPECT_NE(rejection(settings({{"webhook_url", std::string("ftp://x")}})).find("webhook_url"),
            std::string::npos);
  const std::map<std::string, SettingValue> callback{{"token", std::string("t")},
                                                     {"encoding_aes_key", std::string(kKey)}};
  auto app = callback;
  app["kind"] = std::string("app");
  EXPECT_NE(rejection(settings(app)).find("corp_id"), std::string::npos);
  app["corp_id"] = std::string("ww123");
  EXPECT_NE(rejection(settings(app)).find("corp_secret"), std::string::npos);
  app["corp_secret"] = std::string("s");
  EXPECT_NE(rejection(settings(app)).find("agent_id"), std::string::npos);
  app["agent_id"] = std::int64_t{1000002};
  EXPECT_EQ(rejection(settings(app)), "");
  EXPECT_NE(rejection(settings({{"kind", std::string("aibot")}})).find("token"), std::string::npos);
  auto aibot = callback;
  aibot["kind"] = std::string("aibot");
  EXPECT_EQ(rejection(settings(aibot)), "");
}

TEST(WecomPlatformTest, TheDescriptorBuildsAWebhookOnlyForBotsWithCallbacks) {
  const platforms::PlatformDescriptor d = wecom_descriptor();
  EXPECT_EQ(d.name, "wecom");
  EXPECT_EQ(d.default_api_base, "https://qyapi.weixin.qq.com");
  boost::asio::io_context io;
  net::HttpClient http(io.get_executor(), net::HttpClientOptions{});
  botgate::test::MemoryStore store;
  platforms::PlatformServices services{io.get_executor(), http, store};
  BotParts send_only =
      d.make(settings({{"webhook_url", std::string("https://qyapi.weixin.qq.com/x?key=k")}}),
             services);
  EXPECT_EQ(send_only.webhook, nullptr);
  EXPECT_NE(send_only.sender, nullptr);
  BotParts receiving = d.make(
      settings({{"token", std::string("t")}, {"encoding_aes_key", std::string(kKey)}}), services);
  EXPECT_NE(receiving.webhook, nullptr);
  EXPECT_THROW(d.make(settings({{"kind", std::string("x")}}), services), std::invalid_argument);
}

TEST(WecomConfigTest, AnAibotOnALongConnectionNeedsItsBotIdAndSecretOnly) {
  std::map<std::string, SettingValue> longconn{{"kind", std::string("aibot")},
                                               {"mode", std::string("longconn")},
                                               {"bot_id", std::string("aibXYZ")},
                                               {"secret", std::string("s3cret")}};
  const WecomConfig config = wecom_config_from(settings(longconn));
  EXPECT_TRUE(config.long_connection);
  EXPECT_FALSE(config.receives_callbacks());
  EXPECT_EQ(config.bot_id, "aibXYZ");
  EXPECT_EQ(config.secret, "s3cret");
  EXPECT_EQ(config.longconn_url, "wss://openws.work.weixin.qq.com");
  EXPECT_EQ(config.ping_interval, std::chrono::seconds(30));

  auto other = longconn;
  other["longconn_url"] = std::string("ws://127.0.0.1:9/");
  other["ping_interval"] = std::int64_t{2};
  const WecomConfig moved = wecom_config_from(settings(other));
  EXPECT_EQ(moved.longconn_url, "ws://127.0.0.1:9/");
  EXPECT_EQ(moved.ping_interval, std::chrono::seconds(2));

  for (const char* key : {"bot_id", "secret"}) {
    auto missing = longconn;
    missing.erase(key);
    const std::string why = rejection(settings(missing));
    EXPECT_NE(why.find(key), std::string::npos) << why;
    EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;
  }
  auto bad_url = longconn;
  bad_url["longconn_url"] = std::string("https://openws.work.weixin.qq.com");
  EXPECT_NE(rejection(settings(bad_url)).find("longconn_url"), std::string::npos);
  auto bad_ping = longconn;
  bad_ping["ping_interval"] = std::int64_t{0};
  EXPECT_NE(rejection(settings(bad_ping)).find("ping_interval"), std::string::npos);
  auto bad_mode = longconn;
  bad_mode["mode"] = std::string("stream");
  EXPECT_NE(rejection(settings(bad_mode)).find("mode"), std::string::npos);
  auto group = longconn;
  group["kind"] = std::string("group");
  EXPECT_NE(rejection(settings(group)).find("aibot"), std::string::npos);
  // mode = "webhook" is the default and keeps needing the callback keys.
  auto webhook = longconn;
  webhook["mode"] = std::string("webhook");
  EXPECT_NE(rejection(settings(webhook)).find("token"), std::string::npos);
}

TEST(WecomPlatformTest, AnAibotOnALongConnectionHasNoWebhookAndOneSource) {
  const platforms::PlatformDescriptor d = wecom_descriptor();
  boost::asio::io_context io;
  net::HttpClient http(io.get_executor(), net::HttpClientOptions{});
  botgate::test::MemoryStore store;
  platforms::PlatformServices services{io.get_executor(), http, store};
  BotParts parts = d.make(settings({{"kind", std::string("aibot")},
                                    {"mode", std::string("longconn")},
                                    {"bot_id", std::string("aibXYZ")},
                                    {"secret", std::string("s3cret")}}),
                          services);
  EXPECT_EQ(parts.webhook, nullptr);
  EXPECT_NE(parts.sender, nullptr);
  ASSERT_EQ(parts.sources.size(), 1u);
  EXPECT_EQ(parts.sources[0]->status().state, "connecting");  // not started
}

}  // namespace
}  // namespace botgate::wecom
