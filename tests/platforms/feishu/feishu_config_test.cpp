#include "botgate/platforms/feishu/feishu_config.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/platforms/feishu/feishu_platform.hpp"
#include "support/memory_store.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <map>
#include <stdexcept>
#include <string>

namespace botgate::feishu {
namespace {

BotSettings settings(std::map<std::string, SettingValue> values) {
  BotSettings s;
  s.name = "feishu";
  s.platform = "feishu";
  s.values = {{"app_id", std::string("cli_test")}, {"app_secret", std::string("secret-123")}};
  s.values.merge(values);
  return s;
}

/// The message of the std::invalid_argument that reading `s` throws, or "" when it does not.
std::string rejection(const BotSettings& s) {
  try {
    (void)feishu_config_from(s, "https://open.feishu.cn");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(FeishuConfigTest, EitherKeyAloneIsEnough) {
  EXPECT_EQ(rejection(settings({{"encrypt_key", std::string("k")}})), "");
  EXPECT_EQ(rejection(settings({{"verification_token", std::string("t")}})), "");
  const FeishuConfig both = feishu_config_from(
      settings({{"encrypt_key", std::string("k")}, {"verification_token", std::string("t")}}),
      "https://open.feishu.cn/");
  EXPECT_EQ(both.encrypt_key, "k");
  EXPECT_EQ(both.verification_token, "t");
  EXPECT_EQ(both.api_base, "https://open.feishu.cn");
}

TEST(FeishuConfigTest, NeitherKeyIsRejectedNamingBoth) {
  // Absent, or present and empty: nothing would authenticate a callback.
  for (const auto& values : {std::map<std::string, SettingValue>{},
                             std::map<std::string, SettingValue>{
                                 {"encrypt_key", std::string()},
                                 {"verification_token", std::string()}}}) {
    const std::string message = rejection(settings(values));
    EXPECT_NE(message.find("encrypt_key"), std::string::npos) << message;
    EXPECT_NE(message.find("verification_token"), std::string::npos) << message;
  }
}

TEST(FeishuConfigTest, NeitherKeyBecauseTheirVariablesAreUnsetNamesTheVariables) {
  // Optional keys with an unset ${VAR} arrive empty; the bot must not quietly run unchecked.
  BotSettings s = settings({{"encrypt_key", std::string()}, {"verification_token", std::string()}});
  s.unset_variables = {{"encrypt_key", "FEISHU_ENCRYPT_KEY"},
                       {"verification_token", "FEISHU_VERIFICATION_TOKEN"}};
  const std::string message = rejection(s);
  EXPECT_NE(message.find("encrypt_key or verification_token"), std::string::npos) << message;
  EXPECT_NE(message.find("FEISHU_ENCRYPT_KEY"), std::string::npos) << message;
  EXPECT_NE(message.find("FEISHU_VERIFICATION_TOKEN"), std::string::npos) << message;
}

TEST(FeishuPlatformTest, TheFactoryRefusesABotWithNeitherKey) {
  boost::asio::io_context io;
  net::HttpClient http(io.get_executor(), net::HttpClientOptions{});
  botgate::test::MemoryStore store;
  platforms::PlatformServices services{io.get_executor(), http, store};
  for (const platforms::PlatformDescriptor& d : {feishu_descriptor(), lark_descriptor()}) {
    EXPECT_THROW(d.make(settings({}), services), std::invalid_argument) << d.name;
    BotParts parts = d.make(settings({{"verification_token", std::string("t")}}), services);
    EXPECT_NE(parts.webhook, nullptr) << d.name;
  }
}

TEST(FeishuConfigTest, LongConnectionNeedsNoCallbackKeys) {
  // Events come over the connection the app's credentials opened: nothing is forged there.
  const FeishuConfig config =
      feishu_config_from(settings({{"mode", std::string("longconn")}}), "https://open.feishu.cn");
  EXPECT_TRUE(config.long_connection);
  EXPECT_FALSE(feishu_config_from(settings({{"mode", std::string("webhook")},
                                            {"verification_token", std::string("t")}}),
                                  "https://open.feishu.cn")
                   .long_connection);
  // A webhook bot still needs one of the two.
  EXPECT_NE(rejection(settings({{"mode", std::string("webhook")}})), "");
}

TEST(FeishuConfigTest, UnknownModeIsRefusedByName) {
  const std::string why = rejection(
      settings({{"mode", std::string("websocket")}, {"verification_token", std::string("t")}}));
  EXPECT_NE(why.find("mode"), std::string::npos) << why;
  EXPECT_NE(why.find("longconn"), std::string::npos) << why;
}

}  // namespace
}  // namespace botgate::feishu
