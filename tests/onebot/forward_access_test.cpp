#include "botgate/onebot/forward_access.hpp"

#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

HttpRequest upgrade(std::string target, std::string authorization = "") {
  HttpRequest request{http::verb::get, target, 11};
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  return request;
}

constexpr std::string_view kToken = "s3cret-token";

TEST(ForwardAccessToken, TakesTheBearerHeaderOrTheQuery) {
  EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs", "Bearer s3cret-token"), kToken),
            TokenCheck::ok);
  EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs?access_token=s3cret-token"), kToken),
            TokenCheck::ok);
  EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs?x=1&access_token=s3cret%2Dtoken"), kToken),
            TokenCheck::ok)
      << "the query value is percent-decoded";
  // One right way is enough, as the spec offers both.
  EXPECT_EQ(check_access_token(upgrade("/ws?access_token=s3cret-token", "Bearer nope"), kToken),
            TokenCheck::ok);
}

TEST(ForwardAccessToken, NoTokenIsMissingAndAnyOtherIsWrong) {
  EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs"), kToken), TokenCheck::missing);
  EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs?other=s3cret-token"), kToken),
            TokenCheck::missing);
  for (const char* header : {"Bearer s3cret-toke", "Bearer s3cret-token2", "s3cret-token",
                             "Token s3cret-token", "bearer s3cret-token", "Bearer ",
                             "Bearer  s3cret-token"}) {
    EXPECT_EQ(check_access_token(upgrade("/onebot/v11/ws/fs", header), kToken), TokenCheck::wrong)
        << header;
  }
  EXPECT_EQ(check_access_token(upgrade("/ws?access_token="), kToken), TokenCheck::wrong);
  EXPECT_EQ(check_access_token(upgrade("/ws?access_token=S3CRET-TOKEN"), kToken),
            TokenCheck::wrong);
}

TEST(ForwardBot, ANamedBotMustBeServed) {
  const std::vector<std::string> bound{"feishu", "sandbox"};
  EXPECT_EQ(std::get<std::string>(resolve_forward_bot("feishu", bound)), "feishu");
  const auto unknown = resolve_forward_bot("discord", bound);
  ASSERT_TRUE(std::holds_alternative<BotRefusal>(unknown));
  EXPECT_NE(std::get<BotRefusal>(unknown).detail.find("'discord'"), std::string::npos);
}

TEST(ForwardBot, TheBarePathNamesTheOnlyBotOrAsksForOne) {
  EXPECT_EQ(std::get<std::string>(resolve_forward_bot("", {"feishu"})), "feishu");
  const auto several = resolve_forward_bot("", {"feishu", "sandbox"});
  ASSERT_TRUE(std::holds_alternative<BotRefusal>(several));
  const std::string& detail = std::get<BotRefusal>(several).detail;
  EXPECT_NE(detail.find("feishu, sandbox"), std::string::npos) << detail;
  EXPECT_NE(detail.find("/onebot/v11/ws/<bot>"), std::string::npos) << detail;
  EXPECT_TRUE(std::holds_alternative<BotRefusal>(resolve_forward_bot("", {})));
}

}  // namespace
}  // namespace botgate::onebot
