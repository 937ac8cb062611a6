// The one file that names every platform: adding one is a folder plus a line here.
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_platform.hpp"
#include "botgate/platforms/feishu/feishu_platform.hpp"
#include "botgate/platforms/qq/qq_platform.hpp"
#include "botgate/platforms/sandbox/sandbox_platform.hpp"
#include "botgate/platforms/wecom/wecom_platform.hpp"

namespace botgate::platforms {

void register_all_platforms(PlatformRegistry& registry) {
  registry.add(feishu::feishu_descriptor());  // host open.feishu.cn
  registry.add(feishu::lark_descriptor());    // same code, host open.larksuite.com
  registry.add(wecom::wecom_descriptor());    // group bots, apps and AI bots
  registry.add(discord::discord_descriptor());  // gateway, interactions, REST
  registry.add(qq::qq_descriptor());            // gateway or webhook, passive replies
  registry.add(sandbox_descriptor());           // the console's chat: one built-in bot
}

}  // namespace botgate::platforms
