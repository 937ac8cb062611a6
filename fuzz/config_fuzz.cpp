// The config loader (app/config.hpp) on fuzzed TOML text, then each bot's platform keys read as
// the platform's factory reads them (*_config_from). A bad config must come back as a ConfigError
// from the loader or std::invalid_argument from the platform (both exit status 2 naming the
// key), or BotSkipped for a bot whose required ${VAR} is unset; any other exception, a crash or
// a sanitizer report is a bug.
#include "botgate/app/config.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/discord/discord_config.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/qq/qq_config.hpp"
#include "botgate/platforms/sandbox/sandbox_platform.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace botgate;
  // The platforms of platforms/all_platforms.cpp with their keys; the loader never calls `make`.
  static const platforms::PlatformRegistry registry = [] {
    platforms::PlatformRegistry r;
    r.add({"feishu", "https://open.feishu.cn", feishu::feishu_settings(), {}, {}});
    r.add({"lark", "https://open.larksuite.com", feishu::feishu_settings(), {}, {}});
    r.add({"wecom", wecom::kDefaultApiBase, wecom::wecom_settings(), {}, {}});
    r.add({"discord", discord::kDefaultApiBase, discord::discord_settings(), {}, {}});
    r.add({"qq", qq::kDefaultApiBase, qq::qq_settings(), {}, {}});
    r.add(platforms::sandbox_descriptor());  // a built-in bot: its name and platform are taken
    return r;
  }();
  // Some of the variables examples/botgate.toml names are set, the others are not.
  static const std::map<std::string, std::string> environment{
      {"BOTGATE_API_TOKEN", "fuzz-api-token"},
      {"FEISHU_APP_ID", "cli_a1b2c3d4e5f6g7h8"},
      {"FEISHU_APP_SECRET", "fuzz-secret"},
      {"FEISHU_VERIFICATION_TOKEN", "v3rif1cat10n"},
      {"WECOM_TOKEN", "QDG6eK"},
      {"WECOM_ENCODING_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"},
      {"DISCORD_PUBLIC_KEY", "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"},
      {"QQ_APP_ID", "102000000"},
      {"QQ_APP_SECRET", "123456abcdef"},
  };
  const std::string text(reinterpret_cast<const char*>(data), size);
  app::Config config;
  try {
    config = app::parse_config(text, "fuzz.toml", registry, &environment);
  } catch (const app::ConfigError&) {
    return 0;  // refused, as it should be
  }
  for (const BotSettings& bot : config.bots) {
    try {
      if (bot.platform == "feishu" || bot.platform == "lark") {
        (void)feishu::feishu_config_from(bot, registry.find(bot.platform)->default_api_base);
      } else if (bot.platform == "wecom") {
        (void)wecom::wecom_config_from(bot);
      } else if (bot.platform == "discord") {
        (void)discord::discord_config_from(bot);
      } else if (bot.platform == "qq") {
        (void)qq::qq_config_from(bot);
      }
    } catch (const std::invalid_argument&) {
      // refused by the platform, as it should be
    } catch (const BotSkipped&) {
      // a required key's ${VAR} is unset: the bot is skipped with a warning
    }
  }
  return 0;
}
