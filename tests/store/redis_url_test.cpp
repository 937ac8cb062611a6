#include "botgate/store/redis_url.hpp"

#include <gtest/gtest.h>

namespace botgate::store {
namespace {

TEST(RedisUrl, ReadsHostPortDbAndCredentials) {
  auto url = parse_redis_url("redis://app:s%40cret@cache.internal:6380/3").value();
  EXPECT_FALSE(url.tls);
  EXPECT_EQ(url.host, "cache.internal");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.user, "app");
  EXPECT_EQ(url.password, "s@cret");
  EXPECT_EQ(url.db, 3);
  EXPECT_EQ(url.where(), "cache.internal:6380");
}

TEST(RedisUrl, DefaultsToPort6379Db0AndNoAuth) {
  auto url = parse_redis_url("redis://127.0.0.1").value();
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  EXPECT_TRUE(url.user.empty());
  EXPECT_TRUE(url.password.empty());
  EXPECT_EQ(parse_redis_url("redis://127.0.0.1/").value().db, 0);
}

TEST(RedisUrl, APasswordAloneIsTheDefaultUsers) {
  auto url = parse_redis_url("rediss://:pw@[::1]:7000/0").value();
  EXPECT_TRUE(url.tls);
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 7000);
  EXPECT_TRUE(url.user.empty());
  EXPECT_EQ(url.password, "pw");
  EXPECT_EQ(url.where(), "[::1]:7000");
  EXPECT_EQ(parse_redis_url("redis://pw2@h").value().password, "pw2");
}

TEST(RedisUrl, RefusesWhatIsNotARedisUrlWithoutRepeatingIt) {
  for (const char* bad :
       {"http://h:6379", "redis://", "redis://:pw@:6379", "redis://h:0", "redis://h:65536",
        "redis://h:port", "redis://h:", "redis://h/16", "redis://h/-1", "redis://h/db",
        "redis://h/1/2", "redis://h?db=1", "redis://u:p%zz@h", "redis://[::1"}) {
    auto url = parse_redis_url(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_TRUE(url.error().is(errc::invalid_argument)) << bad;
  }
  auto url = parse_redis_url("redis://user:topsecret@h:99999");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().detail.find("topsecret"), std::string::npos);
}

TEST(RedisUrl, KnowsItsSchemes) {
  EXPECT_TRUE(is_redis_url("redis://h"));
  EXPECT_TRUE(is_redis_url("rediss://h"));
  EXPECT_FALSE(is_redis_url("sqlite://botgate.db"));
}

}  // namespace
}  // namespace botgate::store
