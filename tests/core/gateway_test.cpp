#include "botgate/core/gateway.hpp"

#include <gtest/gtest.h>

namespace botgate {
namespace {

TEST(GatewayTest, ASessionIsResumableOnlyWithAnId) {
  EXPECT_FALSE(GatewaySession{}.resumable());
  EXPECT_FALSE((GatewaySession{"", 5, "wss://resume", "1"}.resumable()));
  EXPECT_TRUE((GatewaySession{"abc", 0, "", ""}.resumable()));
}

TEST(GatewayTest, ActionsCompareByValue) {
  const GatewayAction beat = SendFrame{R"({"op":1,"d":null})"};
  EXPECT_EQ(beat, GatewayAction{SendFrame{R"({"op":1,"d":null})"}});
  EXPECT_NE(beat, GatewayAction{Fatal{"x"}});
  Reconnect resume;
  resume.resume = true;
  EXPECT_NE(GatewayAction{resume}, GatewayAction{Reconnect{}});
}

}  // namespace
}  // namespace botgate
