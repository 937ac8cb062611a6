#include "botgate/net/query_string.hpp"

#include <gtest/gtest.h>

namespace botgate::net {
namespace {

TEST(QueryStringTest, ReadsAndPercentDecodesAParameter) {
  const std::string target =
      "/webhook/wecom?msg_signature=5c45ff&timestamp=1409659589&nonce=263014780&echostr="
      "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ"
      "%3D%3D";
  EXPECT_EQ(query_param(target, "msg_signature"), "5c45ff");
  EXPECT_EQ(query_param(target, "nonce"), "263014780");
  EXPECT_EQ(query_param(target, "echostr"),
            "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaq"
            "Q==");
}

TEST(QueryStringTest, APlusStaysAPlus) {
  EXPECT_EQ(query_param("/?e=a+b%20c", "e"), "a+b c");
}

TEST(QueryStringTest, MissingEmptyAndRepeatedParameters) {
  EXPECT_EQ(query_param("/path", "a"), std::nullopt);
  EXPECT_EQ(query_param("/path?", "a"), std::nullopt);
  EXPECT_EQ(query_param("/path?b=1", "a"), std::nullopt);
  EXPECT_EQ(query_param("/path?ab=1", "a"), std::nullopt);
  EXPECT_EQ(query_param("/path?a", "a"), "");
  EXPECT_EQ(query_param("/path?a=", "a"), "");
  EXPECT_EQ(query_param("/path?a=1&a=2", "a"), "1");
  EXPECT_EQ(query_param("/path?x=1&&a=2#frag", "a"), "2");
}

TEST(QueryStringTest, ABrokenEscapeIsNoValue) {
  EXPECT_EQ(query_param("/?a=%", "a"), std::nullopt);
  EXPECT_EQ(query_param("/?a=%2", "a"), std::nullopt);
  EXPECT_EQ(query_param("/?a=%zz", "a"), std::nullopt);
  EXPECT_EQ(query_param("/?a=%41%42", "a"), "AB");
}

TEST(QueryStringTest, PercentEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("ww123-._~AZaz09"), "ww123-._~AZaz09");
  EXPECT_EQ(percent_encode("a+b/c= &?"), "a%2Bb%2Fc%3D%20%26%3F");
  EXPECT_EQ(percent_encode("你"), "%E4%BD%A0");
}

}  // namespace
}  // namespace botgate::net
