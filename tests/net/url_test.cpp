#include "botgate/net/url.hpp"

#include <gtest/gtest.h>

namespace botgate::net {
namespace {

TEST(ParseUrl, HttpsWithDefaults) {
  auto url = parse_url("https://open.feishu.cn");
  ASSERT_TRUE(url) << url.error().message();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "open.feishu.cn");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/");
  EXPECT_TRUE(url->is_tls());
  EXPECT_EQ(url->authority(), "open.feishu.cn:443");
  EXPECT_EQ(url->host_header(), "open.feishu.cn");
}

TEST(ParseUrl, HttpDefaultPort) {
  auto url = parse_url("http://example.com/a");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, "80");
  EXPECT_FALSE(url->is_tls());
  EXPECT_EQ(url->host_header(), "example.com");
}

TEST(ParseUrl, PortPathAndQuery) {
  auto url = parse_url("http://127.0.0.1:8080/open-apis/im/v1/messages?receive_id_type=chat_id");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/open-apis/im/v1/messages?receive_id_type=chat_id");
  EXPECT_EQ(url->authority(), "127.0.0.1:8080");
  EXPECT_EQ(url->host_header(), "127.0.0.1:8080");
}

TEST(ParseUrl, ExplicitDefaultPortIsLeftOutOfHostHeader) {
  auto url = parse_url("https://example.com:443/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->authority(), "example.com:443");
  EXPECT_EQ(url->host_header(), "example.com");
}

TEST(ParseUrl, QueryWithoutPathGetsSlash) {
  auto url = parse_url("https://example.com?key=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->target, "/?key=1");
}

TEST(ParseUrl, EmptyPortMeansDefault) {
  auto url = parse_url("https://example.com:/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, "443");
}

TEST(ParseUrl, Ipv6LiteralInBrackets) {
  auto url = parse_url("http://[::1]:8080/x?y=1");
  ASSERT_TRUE(url) << url.error().message();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/x?y=1");
  EXPECT_EQ(url->authority(), "[::1]:8080");
  EXPECT_EQ(url->host_header(), "[::1]:8080");

  auto defaulted = parse_url("https://[2001:db8::1]");
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(defaulted->authority(), "[2001:db8::1]:443");
  EXPECT_EQ(defaulted->host_header(), "[2001:db8::1]");
}

TEST(ParseUrl, LowercasesSchemeAndHost) {
  auto url = parse_url("HTTPS://Open.Feishu.CN/Path");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "open.feishu.cn");
  EXPECT_EQ(url->target, "/Path");  // paths are case-sensitive
}

TEST(ParseUrl, DropsFragment) {
  auto url = parse_url("https://example.com/a?b=c#section");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->target, "/a?b=c");
}

TEST(ParseUrl, NormalisesLeadingZerosInPort) {
  auto url = parse_url("http://example.com:0080/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, "80");
}

TEST(ParseUrl, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* text :
       {"", "example.com/path", "/relative", "ftp://example.com/", "ws://example.com/",
        "http://", "http:///path", "http:/example.com", "http://user:pass@example.com/",
        "http://example.com:0/", "http://example.com:65536/", "http://example.com:99999/",
        "http://example.com:80a/", "http://example.com:0x1", "http://exa mple.com/",
        "http://example.com/a b", "http://ex%41mple.com/", "http://[::1/", "http://[v1.x]/"}) {
    auto url = parse_url(text);
    ASSERT_FALSE(url) << "accepted: " << text;
    EXPECT_TRUE(url.error().is(errc::invalid_argument)) << text;
  }
}

TEST(ParseUrl, ErrorDetailNeverRepeatsTheUrl) {
  auto url = parse_url("ftp://example.com/?key=SECRET");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().detail.find("SECRET"), std::string::npos);
  EXPECT_EQ(url.error().detail.find("example.com"), std::string::npos);
}

TEST(SplitHostPortTest, Cases) {
  using Parts = std::pair<std::string, std::uint16_t>;
  EXPECT_EQ(split_host_port("127.0.0.1:8080"), (Parts{"127.0.0.1", 8080}));
  EXPECT_EQ(split_host_port("0.0.0.0:0"), (Parts{"0.0.0.0", 0}));
  EXPECT_EQ(split_host_port("localhost:65535"), (Parts{"localhost", 65535}));
  EXPECT_EQ(split_host_port("[::1]:80"), (Parts{"::1", 80}));
  EXPECT_EQ(split_host_port("[::]:443"), (Parts{"::", 443}));
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536",
                          "127.0.0.1:99999999999", "127.0.0.1:-1", "127.0.0.1:80x",
                          "127.0.0.1: 80", "[::1]", "[::1]80", "[::1]:", "[]:80",
                          "[::1:80"}) {
    EXPECT_FALSE(split_host_port(bad)) << bad;
  }
}

}  // namespace
}  // namespace botgate::net
