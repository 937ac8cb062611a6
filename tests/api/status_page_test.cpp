#include "botgate/api/status_page.hpp"

#include <gtest/gtest.h>

namespace botgate::api {
namespace {

TEST(StatusPage, ListsEveryBotWithItsStateAndEscapesText) {
  BotStatus ready{"feishu", "feishu", true, "", 3, 2, 1};
  BotStatus broken{"wecom-app", "wecom", false, "token_unavailable: code 40013 <bad>", 0, 0, 0};
  const std::string html = render_status_page({ready, broken});
  EXPECT_NE(html.find("<td>feishu</td><td>feishu</td><td class=\"ok\">ready"), std::string::npos);
  EXPECT_NE(html.find("<code>/webhook/feishu</code></td><td>3</td><td>2</td><td>1</td>"),
            std::string::npos);
  EXPECT_NE(html.find("not ready: token_unavailable: code 40013 &lt;bad&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<bad>"), std::string::npos);
}

TEST(StatusPage, ShowsEachGatewayConnection) {
  BotStatus discord{"discord", "discord", true, "", 5, 5, 0};
  discord.connections.push_back(EventSourceStatus{"reconnecting", "op 7 <now>", 3, 2});
  const std::string html = render_status_page({discord});
  EXPECT_NE(html.find("gateway reconnecting: op 7 &lt;now&gt; (3 reconnects, 2 resumes)"),
            std::string::npos)
      << html;
}

TEST(StatusPage, SaysWhatToDoWithoutBots) {
  const std::string html = render_status_page({});
  EXPECT_NE(html.find("No bot is enabled"), std::string::npos);
}

}  // namespace
}  // namespace botgate::api
