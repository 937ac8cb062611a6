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

}  // namespace
}  // namespace botgate::wecom
