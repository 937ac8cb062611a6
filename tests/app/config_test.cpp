#include "botgate/app/config.hpp"

#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/sandbox/sandbox_platform.hpp"
#include "support/testdata.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace botgate::app {
namespace {

using Environment = std::map<std::string, std::string>;

platforms::PlatformDescriptor feishu_like(const std::string& name) {
  platforms::PlatformDescriptor descriptor;
  descriptor.name = name;
  descriptor.default_api_base = "https://open.feishu.cn";
  descriptor.settings = {
      {"app_id", SettingType::string, true},
      {"app_secret", SettingType::string, true},
      {"encrypt_key", SettingType::string, false},
      {"verification_token", SettingType::string, false},
      {"intents", SettingType::string_list, false},
      {"sandbox", SettingType::boolean, false},
      {"shard_count", SettingType::integer, false},
      {"shards", SettingType::integer_list, false},
  };
  descriptor.make = [](const BotSettings&, platforms::PlatformServices&) { return BotParts{}; };
  return descriptor;
}

platforms::PlatformRegistry test_registry() {
  platforms::PlatformRegistry registry;
  registry.add(feishu_like("feishu"));
  registry.add(feishu_like("lark"));
  registry.add(platforms::sandbox_descriptor());  // a platform with a built-in bot
  return registry;
}

Config parse(const std::string& text, const Environment& environment = {}) {
  const auto registry = test_registry();
  return parse_config(text, "test.toml", registry, &environment);
}

/// Parses `text`, expecting a ConfigError that starts with "test.toml:LINE: KEY: " and
/// mentions `detail`.
void expect_error(const std::string& text, int line, const std::string& key,
                  const std::string& detail = {}, const Environment& environment = {}) {
  try {
    parse(text, environment);
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const ConfigError& error) {
    const std::string what = error.what();
    const std::string head =
        "test.toml:" + std::to_string(line) + ": " + (key.empty() ? "" : key + ": ");
    EXPECT_EQ(what.rfind(head, 0), 0u) << what << "\nexpected to start with: " << head;
    EXPECT_NE(what.find(detail), std::string::npos) << what << "\nexpected: " << detail;
    EXPECT_EQ(error.file(), "test.toml");
    EXPECT_EQ(error.line(), line);
    EXPECT_EQ(error.key(), key);
  }
}

constexpr const char* kFullConfig = R"(# every section
[server]
listen = "0.0.0.0:9090"
threads = 4
max_body_bytes = 2048

[store]
url = "sqlite:///var/lib/botgate/full.db"

[log]
level = "debug"
format = "json"

[api]
token = "tok-${TOKEN_SUFFIX}"

[proxy]
url = "http://127.0.0.1:7890"

[[bot]]
name = "feishu-1"
platform = "feishu"
api_base = "http://127.0.0.1:${FAKE_PORT}/open"
proxy = "http://10.0.0.1:3128"
app_id = "${APP_ID}"
app_secret = "secret"
encrypt_key = ""
intents = ["guilds", "${EXTRA_INTENT}"]
sandbox = true
shard_count = 3

[[bot]]
name = "lark"
platform = "lark"
app_id = "cli_2"
app_secret = "s2"

[[rule]]
match = '^\$hello$'
reply = "Hello, {user}!"
platforms = ["feishu", "sandbox"]
bots = ["feishu-1"]

[[rule]]
match = "ping"
reply = "pong"
mention = true

[echo]
enabled = false
prefix = "> "

[forward]
url = "https://example.com/${HOOK_PATH}"
secret = "${FORWARD_SECRET}"
timeout_ms = 1500
)";

const Environment kFullEnvironment = {
    {"TOKEN_SUFFIX", "abc"}, {"FAKE_PORT", "18080"},  {"APP_ID", "cli_1"},
    {"EXTRA_INTENT", "dm"},  {"HOOK_PATH", "events"}, {"FORWARD_SECRET", "0123456789abcdef0"},
};

TEST(ConfigTest, ParsesEverySection) {
  const auto config = parse(kFullConfig, kFullEnvironment);
  EXPECT_EQ(config.file, "test.toml");
  EXPECT_EQ(config.server.listen, "0.0.0.0:9090");
  EXPECT_EQ(config.server.threads, 4u);
  EXPECT_EQ(config.server.max_body_bytes, 2048u);
  EXPECT_EQ(config.store.url, "sqlite:///var/lib/botgate/full.db");
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.format, "json");
  EXPECT_EQ(config.api.token, "tok-abc");
  EXPECT_EQ(config.proxy_url, "http://127.0.0.1:7890");
  EXPECT_TRUE(config.warnings.empty());

  ASSERT_EQ(config.bots.size(), 2u);
  const auto& bot = config.bots[0];
  EXPECT_EQ(bot.name, "feishu-1");
  EXPECT_EQ(bot.platform, "feishu");
  EXPECT_EQ(bot.api_base, "http://127.0.0.1:18080/open");
  EXPECT_EQ(bot.proxy, "http://10.0.0.1:3128");
  EXPECT_EQ(bot.get_string("app_id"), "cli_1");
  EXPECT_EQ(bot.get_string("app_secret"), "secret");
  EXPECT_EQ(bot.get_string("encrypt_key", "unset"), "");
  EXPECT_EQ(bot.get_string("verification_token", "unset"), "unset");
  EXPECT_EQ(bot.get_list("intents"), (std::vector<std::string>{"guilds", "dm"}));
  EXPECT_TRUE(bot.get_bool("sandbox"));
  EXPECT_EQ(bot.get_int("shard_count"), 3);
  EXPECT_EQ(bot.values.size(), 6u);
  EXPECT_EQ(config.bot_lines.at("feishu-1"), 20);

  EXPECT_EQ(config.bots[1].name, "lark");
  EXPECT_EQ(config.bots[1].platform, "lark");
  EXPECT_EQ(config.bots[1].api_base, "");
  EXPECT_EQ(config.bots[1].get_string("app_id"), "cli_2");
  EXPECT_EQ(config.bot_lines.at("lark"), 32);

  ASSERT_EQ(config.rules.size(), 2u);
  EXPECT_EQ(config.rules[0].match, R"(^\$hello$)");
  EXPECT_EQ(config.rules[0].reply, "Hello, {user}!");
  EXPECT_EQ(config.rules[0].platforms, (std::vector<std::string>{"feishu", "sandbox"}));
  EXPECT_EQ(config.rules[0].bots, (std::vector<std::string>{"feishu-1"}));
  EXPECT_EQ(config.rules[0].line, 38);
  EXPECT_EQ(config.rules[1].match, "ping");
  EXPECT_TRUE(config.rules[1].platforms.empty());
  EXPECT_TRUE(config.rules[1].bots.empty());
  EXPECT_FALSE(config.rules[0].mention);  // the default: any message the rule matches
  EXPECT_TRUE(config.rules[1].mention);
  EXPECT_EQ(config.rules[1].line, 44);

  EXPECT_FALSE(config.echo.enabled);
  EXPECT_EQ(config.echo.prefix, "> ");
  ASSERT_EQ(config.forwards.size(), 1u);
  EXPECT_EQ(config.forwards[0].url, "https://example.com/events");
  EXPECT_EQ(config.forwards[0].secret, "0123456789abcdef0");
  EXPECT_EQ(config.forwards[0].timeout_ms, 1500);
  EXPECT_EQ(config.forwards[0].max_attempts, 10);
  EXPECT_EQ(config.forwards[0].max_age_s, 3600);
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  const auto config = parse("");
  EXPECT_EQ(config.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(config.server.threads, 0u);
  EXPECT_EQ(config.server.max_body_bytes, 1048576u);
  EXPECT_EQ(config.server.max_connections, 0u) << "not written: derived from the file limit";
  EXPECT_EQ(config.store.url, "sqlite://botgate.db");
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.format, "text");
  EXPECT_EQ(config.api.token, "");
  EXPECT_EQ(config.proxy_url, "");
  EXPECT_TRUE(config.bots.empty());
  EXPECT_TRUE(config.rules.empty());
  EXPECT_FALSE(config.echo.enabled) << "echo answers only where it is written";
  EXPECT_EQ(config.echo.prefix, "Hello, ");
  EXPECT_TRUE(config.forwards.empty());
  EXPECT_FALSE(config.metrics.public_access) << "/metrics needs the token unless made public";
}

TEST(ConfigTest, MetricsCanBeMadePublicAndNothingElse) {
  EXPECT_TRUE(parse("[metrics]\npublic = true\n").metrics.public_access);
  EXPECT_FALSE(parse("[metrics]\npublic = false\n").metrics.public_access);
  expect_error("[metrics]\npublic = \"yes\"\n", 2, "metrics.public", "must be a boolean");
  expect_error("[metrics]\npublic = true\npath = \"/m\"\n", 3, "metrics.path", "unknown key");
}

TEST(ConfigTest, SyntaxErrorGivesTheParsersLine) {
  try {
    parse("[server]\nlisten = \"127.0.0.1:8080\"\nthreads = \n");
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.line(), 3);
    EXPECT_EQ(std::string(error.what()).rfind("test.toml:3: ", 0), 0u) << error.what();
  }
}

TEST(ConfigTest, UnknownKeysAreErrors) {
  expect_error("[server]\nlisten = \"127.0.0.1:1\"\nthread = 2\n", 3, "server.thread",
               "unknown key");
  expect_error("\n[servers]\nlisten = \"127.0.0.1:1\"\n", 2, "servers",
               "unknown top-level key (known tables: server, store,");
  expect_error("[echo]\nenabled = true\ncolour = 1\n", 3, "echo.colour", "unknown key");
  expect_error("[[rule]]\nmatch = \"a\"\nreply = \"b\"\nplatform = [\"feishu\"]\n", 4,
               "rule[0].platform", "unknown key");
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n"
      "token = \"z\"\n",
      6, "bot[0].token", "unknown key for platform 'feishu'");
}

TEST(ConfigTest, WrongTypesAreErrors) {
  expect_error("[server]\nthreads = \"4\"\n", 2, "server.threads", "must be an integer");
  expect_error("[server]\nlisten = 8080\n", 2, "server.listen", "must be a string");
  expect_error("server = 1\n", 1, "server", "must be a table");
  expect_error("[echo]\nenabled = \"yes\"\n", 2, "echo.enabled", "must be a boolean");
  expect_error("[forward]\ntimeout_ms = 1.5\n", 2, "forward.timeout_ms", "must be an integer");
  expect_error("[bot]\nname = \"a\"\n", 1, "bot", "must be an array of tables");
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n"
      "shard_count = \"3\"\n",
      6, "bot[0].shard_count", "must be an integer");
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n"
      "sandbox = 1\n",
      6, "bot[0].sandbox", "must be a boolean");
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n"
      "intents = [\"a\", 2]\n",
      6, "bot[0].intents[1]", "must be a string");
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = 5\napp_secret = \"y\"\n", 4,
      "bot[0].app_id", "must be a string");
  expect_error("[[rule]]\nmatch = \"a\"\nreply = \"b\"\nbots = \"x\"\n", 4, "rule[0].bots",
               "must be an array of strings");
  expect_error("[[rule]]\nmatch = \"a\"\nreply = \"b\"\nmention = \"yes\"\n", 4,
               "rule[0].mention", "must be a boolean");
}

TEST(ConfigTest, MaxConnections) {
  EXPECT_EQ(parse("[server]\nmax_connections = 500\n").server.max_connections, 500u);
}

TEST(ConfigTest, BadValuesAreErrors) {
  expect_error("[server]\nlisten = \"127.0.0.1\"\n", 2, "server.listen", "host:port");
  expect_error("[server]\nlisten = \":8080\"\n", 2, "server.listen", "host:port");
  expect_error("[server]\nlisten = \"127.0.0.1:70000\"\n", 2, "server.listen", "bad port");
  expect_error("[server]\nlisten = \"127.0.0.1:http\"\n", 2, "server.listen", "bad port");
  expect_error("[server]\nthreads = -1\n", 2, "server.threads");
  expect_error("[server]\nmax_body_bytes = 0\n", 2, "server.max_body_bytes", "greater than 0");
  expect_error("[server]\nmax_connections = 0\n", 2, "server.max_connections", "greater than 0");
  expect_error("[server]\nmax_connections = -1\n", 2, "server.max_connections",
               "greater than 0");
  expect_error("[server]\nmax_connections = \"many\"\n", 2, "server.max_connections",
               "must be an integer");
  expect_error("[store]\nurl = \"postgres://db\"\n", 2, "store.url", "must start with sqlite://");
  expect_error("[store]\nurl = \"sqlite://\"\n", 2, "store.url", "no database path");
  expect_error("[log]\nlevel = \"verbose\"\n", 2, "log.level", "trace, debug");
  expect_error("[log]\nformat = \"xml\"\n", 2, "log.format", "\"text\" or \"json\"");
  expect_error("[proxy]\nurl = \"socks5://127.0.0.1:1080\"\n", 2, "proxy.url", "http://");
  expect_error("[forward]\nurl = \"ftp://x\"\n", 2, "forward.url", "http:// or https://");
  expect_error("[forward]\ntimeout_ms = 0\n", 2, "forward.timeout_ms", "positive");
  expect_error("[[rule]]\nmatch = \"\"\nreply = \"b\"\n", 2, "rule[0].match", "empty");
  expect_error("\n[[rule]]\nreply = \"b\"\n", 2, "rule[0].match", "is required");
  expect_error("[[rule]]\nmatch = \"a\"\n", 1, "rule[0].reply", "is required");
  expect_error("[[rule]]\nmatch = \"a\"\nreply = \"b\"\nplatforms = [\"sandbox\", \"irc\"]\n", 4,
               "rule[0].platforms[1]", "unknown platform 'irc'");
}

TEST(ConfigTest, ValidListenAndStoreForms) {
  EXPECT_EQ(parse("[server]\nlisten = \"[::1]:0\"\n").server.listen, "[::1]:0");
  EXPECT_EQ(parse("[server]\nlisten = \"localhost:8080\"\n").server.listen, "localhost:8080");
  EXPECT_EQ(parse("[store]\nurl = \"sqlite:///var/lib/botgate.db\"\n").store.url,
            "sqlite:///var/lib/botgate.db");
  EXPECT_EQ(parse("[store]\nurl = \"sqlite://${DIR}/b.db\"\n", {{"DIR", "/srv"}}).store.url,
            "sqlite:///srv/b.db");
}

TEST(ConfigTest, ARedisStoreUrlIsCheckedWhereTheConfigIsRead) {
  EXPECT_EQ(parse("[store]\nurl = \"redis://127.0.0.1:6379/0\"\n").store.url,
            "redis://127.0.0.1:6379/0");
  const Config tls = parse(
      "[store]\nurl = \"rediss://:${PW}@cache:6380/2\"\ninstance = \"gw-1\"\n"
      "ca_file = \"/etc/ca.pem\"\n",
      {{"PW", "pw"}});
  EXPECT_EQ(tls.store.url, "rediss://:pw@cache:6380/2");
  EXPECT_EQ(tls.store.instance, "gw-1");
  EXPECT_EQ(tls.store.ca_file, "/etc/ca.pem");
  EXPECT_EQ(parse("").store.instance, "botgate");
  // Not only at start: `botgate check` names the file, the line and the key, and never the
  // password.
  expect_error("# store\n[store]\nurl = \"redis://:hunter2@cache:99999/0\"\n", 3, "store.url",
               "port");
  try {
    parse("[store]\nurl = \"redis://:hunter2@cache:99999/0\"\n");
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
  }
  expect_error("[store]\nurl = \"redis://cache/16\"\n", 2, "store.url", "database");
  expect_error("[store]\nurl = \"redis://${HOST}:6379/x\"\n", 2, "store.url", "database",
               {{"HOST", "cache"}});
  expect_error("[store]\nurl = \"redis://:6379/0\"\n", 2, "store.url", "no host");
  expect_error("[store]\nurl = \"redis://h\"\ninstance = \"a/b\"\n", 3, "store.instance",
               "letters");
  expect_error("[store]\ninstance = \"\"\n", 2, "store.instance", "letters");
}

TEST(ConfigTest, AForwardMustBeSignedWithALongEnoughSecret) {
  expect_error("[forward]\nurl = \"http://127.0.0.1:9/x\"\n", 1, "forward.secret",
               "is required");
  expect_error("[forward]\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"short\"\n", 3,
               "forward.secret", "at least 16 characters");
  // Without a URL there is nothing to sign (a template's empty [forward]).
  EXPECT_TRUE(parse("[forward]\nurl = \"\"\n").forwards.empty());
  expect_error("[forward]\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"0123456789abcdef\"\n"
               "max_attempts = 0\n",
               4, "forward.max_attempts", "positive");
}

constexpr const char* kTwoBots = R"(
[[bot]]
name = "fs"
platform = "feishu"
app_id = "a"
app_secret = "b"
verification_token = "t"

[[bot]]
name = "lk"
platform = "lark"
app_id = "1"
app_secret = "s"
)";

TEST(ConfigTest, SeveralForwardsAreBoundToBotsPlatformsOrTheRest) {
  const auto config = parse(std::string(kTwoBots) + R"(
[[forward]]
url = "http://127.0.0.1:9/llm"
secret = "0123456789abcdef"
bots = ["fs"]
max_age_s = 600

[[forward]]
url = "http://127.0.0.1:9/lark"
secret = "0123456789abcdef"
platforms = ["lark"]

[[forward]]
url = "http://127.0.0.1:9/rest"
secret = "0123456789abcdef"
)");
  ASSERT_EQ(config.forwards.size(), 3u);
  EXPECT_EQ(config.forwards[0].max_age_s, 600);
  EXPECT_EQ(forward_for(config.forwards, "fs", "feishu")->url, "http://127.0.0.1:9/llm");
  EXPECT_EQ(forward_for(config.forwards, "lk", "lark")->url, "http://127.0.0.1:9/lark");
  EXPECT_EQ(forward_for(config.forwards, "sandbox", "sandbox")->url, "http://127.0.0.1:9/rest");
  // A bot named by one target wins over its platform's.
  EXPECT_EQ(forward_for(config.forwards, "fs", "lark")->url, "http://127.0.0.1:9/llm");
}

TEST(ConfigTest, AForwardBindingMustBeUnambiguous) {
  const std::string target = "url = \"http://127.0.0.1:9/x\"\nsecret = \"0123456789abcdef\"\n";
  expect_error(std::string(kTwoBots) + "[[forward]]\n" + target + "bots = [\"fs\"]\n" +
                   "[[forward]]\n" + target + "bots = [\"fs\"]\n",
               18, "forward[1].bots", "already served by forward[0]");
  expect_error(std::string(kTwoBots) + "[[forward]]\n" + target + "[[forward]]\n" + target,
               17, "forward[1]", "serves every bot");
  expect_error(std::string(kTwoBots) + "[[forward]]\n" + target + "bots = [\"nobody\"]\n", 17,
               "forward[0].bots[0]", "no [[bot]] is named 'nobody'");
  expect_error(std::string(kTwoBots) + "[[forward]]\n" + target + "platforms = [\"icq\"]\n", 17,
               "forward[0].platforms[0]", "unknown platform 'icq'");
  expect_error(std::string(kTwoBots) + "[[forward]]\nsecret = \"0123456789abcdef\"\n", 14,
               "forward[0].url", "is required");
}

TEST(ConfigTest, OneBotIsOffUntilAReverseUrlIsGiven) {
  EXPECT_FALSE(parse(kTwoBots).onebot.enabled());
  EXPECT_FALSE(parse(std::string(kTwoBots) + "[onebot]\nreverse_url = \"\"\n").onebot.enabled());
  const auto config = parse(std::string(kTwoBots) + R"([onebot]
reverse_url = "ws://127.0.0.1:8080/onebot/v11/ws"
access_token = "tok"
bots = ["fs", "sandbox"]
self_ids = { fs = 10001, sandbox = 9007199254740991 }
)");
  ASSERT_TRUE(config.onebot.enabled());
  EXPECT_EQ(config.onebot.reverse_url, "ws://127.0.0.1:8080/onebot/v11/ws");
  EXPECT_EQ(config.onebot.access_token, "tok");
  EXPECT_EQ(config.onebot.bots, (std::vector<std::string>{"fs", "sandbox"}));
  EXPECT_EQ(config.onebot.self_ids.at("fs"), 10001);
  EXPECT_EQ(config.onebot.self_ids.at("sandbox"), 9007199254740991);
  EXPECT_TRUE(parse("[onebot]\nreverse_url = \"wss://bots.example/ws\"\n").onebot.enabled());
}

TEST(ConfigTest, OneBotValuesAreChecked) {
  const std::string bots(kTwoBots);
  expect_error(bots + "[onebot]\nreverse_url = \"http://127.0.0.1:1/ws\"\n", 15,
               "onebot.reverse_url", "ws:// or wss://");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://127.0.0.1:0/ws\"\n", 15,
               "onebot.reverse_url", "1..65535");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nbots = [\"nobody\"]\n", 16,
               "onebot.bots[0]", "no [[bot]] is named 'nobody'");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = { nobody = 1 }\n", 16,
               "onebot.self_ids.nobody", "no [[bot]] is named 'nobody'");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = { fs = 0 }\n", 16,
               "onebot.self_ids.fs", "positive integer below 2^53");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = { fs = 9007199254740992 }\n",
               16, "onebot.self_ids.fs", "below 2^53");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = { fs = \"1\" }\n", 16,
               "onebot.self_ids.fs", "must be an integer");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = { fs = 5, lk = 5 }\n",
               16, "onebot.self_ids.lk", "each bot needs its own");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\nself_ids = 5\n", 16,
               "onebot.self_ids", "must be a table");
  expect_error(bots + "[onebot]\nreverse_url = \"ws://h/\"\ntoken = \"x\"\n", 16,
               "onebot.token", "unknown key");
  expect_error(bots + "[forward]\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"0123456789abcdef\"\n"
                      "bots = [\"fs\"]\n[onebot]\nreverse_url = \"ws://h/\"\nbots = [\"fs\"]\n",
               20, "onebot.bots[0]", "already served by a [forward] target");
}

TEST(ConfigTest, OneBotServeTurnsTheForwardWebSocketOnAndNeedsAToken) {
  const std::string bots(kTwoBots);
  const auto config = parse(bots + "[onebot]\nserve = true\naccess_token = \"tok\"\n");
  EXPECT_TRUE(config.onebot.enabled()) << "serve alone, without reverse_url";
  EXPECT_TRUE(config.onebot.serve);
  EXPECT_TRUE(config.onebot.reverse_url.empty());
  EXPECT_FALSE(parse(bots + "[onebot]\nserve = false\naccess_token = \"tok\"\n").onebot.enabled());
  EXPECT_FALSE(parse(bots + "[onebot]\naccess_token = \"tok\"\n").onebot.serve) << "off by default";
  // Secure by default: no open forward WebSocket.
  expect_error(bots + "[onebot]\nserve = true\n", 14, "onebot.access_token",
               "is required with serve = true");
  expect_error(bots + "[onebot]\nserve = true\naccess_token = \"\"\n", 16,
               "onebot.access_token", "is required with serve = true");
  expect_error(bots + "[onebot]\nserve = \"yes\"\naccess_token = \"tok\"\n", 15, "onebot.serve",
               "must be a boolean");
}

TEST(ConfigTest, ABotsDefaultSelfIdIsStable) {
  EXPECT_EQ(onebot_default_self_id("feishu"), onebot_default_self_id("feishu"));
  EXPECT_NE(onebot_default_self_id("feishu"), onebot_default_self_id("lark"));
  EXPECT_GE(onebot_default_self_id("x"), 1'000'000'000);
  EXPECT_LT(onebot_default_self_id("x"), 2'000'000'000);
  // FNV-1a of "a": 0xaf63dc4c8601ec8c, so 12638187200555641996 % 10^9 = 555641996.
  EXPECT_EQ(onebot_default_self_id("a"), 1'555'641'996);
}

TEST(ConfigTest, UrlsAreReadAsTheHttpClientReadsThem) {
  // net::parse_url decides: what the config admits, the client can send to.
  expect_error("[forward]\nurl = \"http://user:pw@hook.example/x\"\n", 2, "forward.url",
               "user info");
  expect_error("[forward]\nurl = \"https://hook.example:0/x\"\n", 2, "forward.url",
               "1..65535");
  expect_error("[forward]\nurl = \"https://hook.example:65536/x\"\n", 2, "forward.url",
               "1..65535");
  expect_error("[forward]\nurl = \"http:///x\"\n", 2, "forward.url", "host");
  expect_error("[proxy]\nurl = \"https://proxy:3128\"\n", 2, "proxy.url", "http:// URL");
  expect_error("[proxy]\nurl = \"http://proxy:3128/path\"\n", 2, "proxy.url",
               "must not have a path");
  EXPECT_EQ(parse("[proxy]\nurl = \"http://[::1]:3128/\"\n").proxy_url, "http://[::1]:3128/");
  EXPECT_EQ(parse("[forward]\nurl = \"https://hook.example:8443/a?b=c\"\n"
                  "secret = \"0123456789abcdef\"\n")
                .forwards.at(0)
                .url,
            "https://hook.example:8443/a?b=c");
  // Listen addresses as the server reads them (net::split_host_port).
  expect_error("[server]\nlisten = \"::1:8080\"\n", 2, "server.listen", "host:port");
  expect_error("[server]\nlisten = \"[::1]:65536\"\n", 2, "server.listen", "bad port");
}

TEST(ConfigTest, BotNameRules) {
  const std::string creds = "platform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n";
  expect_error("[[bot]]\nname = \"Feishu_1\"\n" + creds, 2, "bot[0].name", "[a-z0-9-]+");
  expect_error("[[bot]]\nname = \"\"\n" + creds, 2, "bot[0].name", "[a-z0-9-]+");
  expect_error("[[bot]]\n" + creds, 1, "bot[0].name", "is required");
  expect_error("[[bot]]\nname = \"a\"\n" + creds + "\n[[bot]]\nname = \"a\"\n" + creds, 8,
               "bot[1].name", "duplicate bot name 'a' (first used on line 2)");
  expect_error("[[bot]]\nname = \"sandbox\"\n" + creds, 2, "bot[0].name",
               "'sandbox' is the web console's built-in sandbox bot");
}

TEST(ConfigTest, ABuiltInBotsNameIsTheOneItsPlatformDeclares) {
  // Read from the declaration (PlatformDescriptor::builtin_bot), not from a name in the loader.
  auto registry = test_registry();
  platforms::PlatformDescriptor toy = feishu_like("toy");
  toy.builtin_bot = platforms::BuiltinBot{"toy-bot", "the toy platform's own bot"};
  registry.add(std::move(toy));
  const std::map<std::string, std::string> environment;
  const std::string creds = "platform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n";
  try {
    parse_config("[[bot]]\nname = \"toy-bot\"\n" + creds, "test.toml", registry, &environment);
    ADD_FAILURE() << "the name of toy's built-in bot was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.key(), "bot[0].name");
    EXPECT_NE(std::string(error.what()).find("'toy-bot' is the toy platform's own bot; choose "
                                             "another name"),
              std::string::npos)
        << error.what();
  }
  // Another bot may be called "toy": platform names are not bot names.
  EXPECT_EQ(parse_config("[[bot]]\nname = \"toy\"\n" + creds, "test.toml", registry, &environment)
                .bots.size(),
            1u);
}

TEST(ConfigTest, RulePlatformsAreEveryRegisteredPlatform) {
  auto registry = test_registry();
  registry.add(feishu_like("toy"));  // as a program built on the library adds one
  const std::map<std::string, std::string> environment;
  const auto config = parse_config(
      "[[rule]]\nmatch = \"a\"\nreply = \"b\"\nplatforms = [\"toy\", \"sandbox\", \"lark\"]\n",
      "test.toml", registry, &environment);
  ASSERT_EQ(config.rules.size(), 1u);
  EXPECT_EQ(config.rules[0].platforms, (std::vector<std::string>{"toy", "sandbox", "lark"}));
  expect_error("[[rule]]\nmatch = \"a\"\nreply = \"b\"\nplatforms = [\"toy\"]\n", 4,
               "rule[0].platforms[0]", "unknown platform 'toy' (known: feishu, lark, sandbox)");
}

TEST(ConfigTest, APlatformWithABuiltInBotIsNotConfigured) {
  expect_error("[[bot]]\nname = \"chat\"\nplatform = \"sandbox\"\n", 3, "bot[0].platform",
               "platform 'sandbox' has only its built-in bot 'sandbox' (the web console's "
               "built-in sandbox bot), which botgate creates itself (platforms for a [[bot]]: "
               "feishu, lark)");
}

TEST(ConfigTest, ConcurrencyIsPerBot) {
  const std::string bot = "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\n"
                          "app_secret = \"y\"\n";
  EXPECT_EQ(parse(bot).bots.at(0).inbox_concurrency, 0u) << "not written: the runtime's default";
  EXPECT_EQ(parse(bot + "concurrency = 64\n").bots.at(0).inbox_concurrency, 64u);
  EXPECT_EQ(parse(bot + "concurrency = 1\n").bots.at(0).inbox_concurrency, 1u);
  EXPECT_EQ(parse(bot + "concurrency = 4096\n").bots.at(0).inbox_concurrency, 4096u);
  expect_error(bot + "concurrency = 0\n", 6, "bot[0].concurrency", "must be 1..4096");
  expect_error(bot + "concurrency = 4097\n", 6, "bot[0].concurrency", "must be 1..4096");
  expect_error(bot + "concurrency = -3\n", 6, "bot[0].concurrency", "must be 1..4096");
  expect_error(bot + "concurrency = \"64\"\n", 6, "bot[0].concurrency",
               "must be an integer, not a string");
  // Two bots, each its own.
  const auto config = parse(bot + "concurrency = 8\n\n[[bot]]\nname = \"b\"\nplatform = \"lark\"\n"
                                  "app_id = \"x\"\napp_secret = \"y\"\nconcurrency = 2\n");
  ASSERT_EQ(config.bots.size(), 2u);
  EXPECT_EQ(config.bots[0].inbox_concurrency, 8u);
  EXPECT_EQ(config.bots[1].inbox_concurrency, 2u);
}

TEST(ConfigTest, DuplicateNameCountsSkippedBots) {
  const std::string text =
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"${UNSET}\"\n"
      "app_secret = \"y\"\n\n[[bot]]\nname = \"a\"\nplatform = \"lark\"\napp_id = \"x\"\n"
      "app_secret = \"y\"\n";
  expect_error(text, 8, "bot[1].name", "duplicate bot name 'a'");
}

TEST(ConfigTest, PlatformRules) {
  expect_error("[[bot]]\nname = \"a\"\nplatform = \"telegram\"\n", 3, "bot[0].platform",
               "unknown platform 'telegram' (known: feishu, lark)");
  expect_error("[[bot]]\nname = \"a\"\n", 1, "bot[0].platform", "is required");
  expect_error("[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\n", 1,
               "bot[0].app_secret", "is required for platform 'feishu'");
  const std::string creds = "platform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n";
  expect_error("[[bot]]\nname = \"a\"\n" + creds + "api_base = \"open.feishu.cn\"\n", 6,
               "bot[0].api_base", "http:// or https://");
  expect_error("[[bot]]\nname = \"a\"\n" + creds + "proxy = \"https://p:1\"\n", 6,
               "bot[0].proxy", "http://");
  const auto config = parse("[[bot]]\nname = \"a\"\n" + creds + "api_base = \"\"\nproxy = \"\"\n");
  ASSERT_EQ(config.bots.size(), 1u);
  EXPECT_EQ(config.bots[0].api_base, "");
  EXPECT_EQ(config.bots[0].proxy, "");
}

TEST(ConfigTest, SubstitutesEnvironmentVariables) {
  const auto config = parse(
      "[api]\ntoken = \"${A}${B}-x\"\n[proxy]\nurl = \"http://${PROXY_HOST}:3128\"\n"
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"id-${ID}\"\n"
      "app_secret = \"${EMPTY}\"\nverification_token = \"$HOME and $ {X}\"\n",
      {{"A", "1"}, {"B", "2"}, {"PROXY_HOST", "proxy"}, {"ID", "42"}, {"EMPTY", ""}});
  EXPECT_EQ(config.api.token, "12-x");
  EXPECT_EQ(config.proxy_url, "http://proxy:3128");
  ASSERT_EQ(config.bots.size(), 1u);
  EXPECT_EQ(config.bots[0].get_string("app_id"), "id-42");
  EXPECT_EQ(config.bots[0].get_string("app_secret", "fallback"), "");
  EXPECT_EQ(config.bots[0].get_string("verification_token"), "$HOME and $ {X}");
}

TEST(ConfigTest, MalformedReferencesAreErrors) {
  expect_error("[forward]\nurl = \"http://x/${OPEN\"\n", 2, "forward.url", "unterminated");
  expect_error("[forward]\nurl = \"http://x/${1X}\"\n", 2, "forward.url", "'1X'");
}

TEST(ConfigTest, UnsetVariableOutsideABotIsAnError) {
  expect_error("[proxy]\nurl = \"${PROXY}\"\n", 2, "proxy.url", "PROXY is not set");
  expect_error("[forward]\nurl = \"${HOOK}\"\n", 2, "forward.url", "HOOK is not set");
  expect_error("[store]\nurl = \"sqlite://${DIR}/b.db\"\n", 2, "store.url", "DIR is not set");
}

TEST(ConfigTest, BotWithUnsetVariableIsSkippedWithWarning) {
  const auto config = parse(
      "[[bot]]\nname = \"feishu\"\nplatform = \"feishu\"\napp_id = \"${FEISHU_APP_ID}\"\n"
      "app_secret = \"${FEISHU_APP_SECRET}\"\n"
      "[[bot]]\nname = \"lark\"\nplatform = \"lark\"\napp_id = \"${LARK_APP_ID}\"\n"
      "app_secret = \"s\"\n",
      {{"FEISHU_APP_SECRET", "set"}, {"LARK_APP_ID", "cli"}});
  ASSERT_EQ(config.bots.size(), 1u);
  EXPECT_EQ(config.bots[0].name, "lark");
  EXPECT_FALSE(config.bot_lines.contains("feishu"));
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_EQ(config.warnings[0], "bot 'feishu' skipped: FEISHU_APP_ID is not set");
}

TEST(ConfigTest, SkippedBotIsStillValidated) {
  expect_error(
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"${UNSET}\"\n"
      "app_secret = \"y\"\ncolour = 1\n",
      6, "bot[0].colour", "unknown key");
}

TEST(ConfigTest, SkipWarningNamesTheFirstUnsetRequiredVariableInFileOrder) {
  const auto config = parse(
      "[[bot]]\nname = \"b\"\nplatform = \"feishu\"\nverification_token = \"${Z_OPTIONAL}\"\n"
      "app_secret = \"${B_FIRST}\"\napp_id = \"${A_SECOND}\"\n");
  EXPECT_TRUE(config.bots.empty());
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_EQ(config.warnings[0], "bot 'b' skipped: B_FIRST is not set");
}

TEST(ConfigTest, OptionalKeyWithUnsetVariableIsEmptyAndTheBotStays) {
  const auto config = parse(
      "[[bot]]\nname = \"b\"\nplatform = \"feishu\"\napp_id = \"a\"\napp_secret = \"s\"\n"
      "encrypt_key = \"${NO_KEY}\"\nintents = [\"ok\", \"${IN_LIST}\"]\n"
      "api_base = \"${NO_BASE}\"\n");
  ASSERT_EQ(config.bots.size(), 1u);
  EXPECT_TRUE(config.warnings.empty());
  EXPECT_EQ(config.bots[0].get_string("encrypt_key", "x"), "");
  EXPECT_EQ(config.bots[0].get_list("intents"), std::vector<std::string>{"ok"});
  EXPECT_EQ(config.bots[0].api_base, "");
}

TEST(ConfigTest, IntegerListsAreRead) {
  const auto config = parse(
      "[[bot]]\nname = \"b\"\nplatform = \"feishu\"\napp_id = \"a\"\napp_secret = \"s\"\n"
      "shards = [0, 2, -1]\n"
      "[[bot]]\nname = \"c\"\nplatform = \"feishu\"\napp_id = \"a\"\napp_secret = \"s\"\n"
      "shards = []\n");
  ASSERT_EQ(config.bots.size(), 2u);
  // Range checks belong to the platform (a shard id below shard_count), not to the loader.
  EXPECT_EQ(config.bots[0].get_int_list("shards"), (std::vector<std::int64_t>{0, 2, -1}));
  EXPECT_TRUE(config.bots[1].values.contains("shards"));
  EXPECT_TRUE(config.bots[1].get_int_list("shards").empty());
}

TEST(ConfigTest, IntegerListsRejectOtherTypes) {
  const std::string head =
      "[[bot]]\nname = \"a\"\nplatform = \"feishu\"\napp_id = \"x\"\napp_secret = \"y\"\n";
  expect_error(head + "shards = \"0,1\"\n", 6, "bot[0].shards",
               "expected an array of integers, not a string");
  expect_error(head + "shards = 1\n", 6, "bot[0].shards",
               "expected an array of integers, not an integer");
  expect_error(head + "shards = [0, \"1\"]\n", 6, "bot[0].shards",
               "expected an array of integers, but item 1 is a string");
  expect_error(head + "shards = [0, 1.5]\n", 6, "bot[0].shards", "item 1 is a float");
  // A multi-line array: the line is the bad item's.
  expect_error(head + "shards = [\n  0,\n  [1],\n]\n", 8, "bot[0].shards",
               "item 1 is an array");
}

TEST(ConfigTest, AnEmptyApiTokenIsFineOnAnyListen) {
  // botgate makes a token at its first start (api/api_token.hpp): no listen is left open.
  for (const char* listen : {"0.0.0.0:8080", "127.0.0.1:8080", "[::]:80", "192.0.2.1:80"}) {
    EXPECT_EQ(parse(std::string("[server]\nlisten = \"") + listen + "\"\n").api.token, "")
        << listen;
    const auto config = parse(std::string("[server]\nlisten = \"") + listen +
                              "\"\n[api]\ntoken = \"${BOTGATE_API_TOKEN}\"\n");
    EXPECT_EQ(config.api.token, "") << listen;
  }
  EXPECT_EQ(parse("[server]\nlisten = \"0.0.0.0:8080\"\n[api]\ntoken = \"t\"\n").api.token, "t");
}

TEST(ConfigTest, EventRetentionIsADayUnlessSetToAPositiveNumberOfSeconds) {
  EXPECT_EQ(parse("").api.event_retention_s, 86400);
  EXPECT_EQ(parse("[api]\nevent_retention_s = 3600\n").api.event_retention_s, 3600);
  EXPECT_EQ(parse("[api]\nevent_retention_s = 1\n").api.event_retention_s, 1);
  for (const char* bad : {"0", "-5", "400000000"}) {
    expect_error(std::string("[api]\nevent_retention_s = ") + bad + "\n", 2,
                 "api.event_retention_s", "must be a positive number of seconds");
  }
  expect_error("[api]\nevent_retention_s = \"1d\"\n", 2, "api.event_retention_s");
}

TEST(ConfigTest, ApiListenAndAllowedHosts) {
  const auto defaults = parse("");
  EXPECT_EQ(defaults.api.listen, "");
  EXPECT_TRUE(defaults.api.allowed_hosts.empty());
  const auto config = parse(
      "[api]\nlisten = \"127.0.0.1:8081\"\n"
      "allowed_hosts = [\"bot.example.com\", \"console.example.com:8443\", \"[::1]:9\"]\n");
  EXPECT_EQ(config.api.listen, "127.0.0.1:8081");
  EXPECT_EQ(config.api.allowed_hosts,
            (std::vector<std::string>{"bot.example.com", "console.example.com:8443", "[::1]:9"}));
  EXPECT_EQ(parse("[api]\nlisten = \"\"\n").api.listen, "") << "empty: on server.listen";

  expect_error("[api]\nlisten = \"8081\"\n", 2, "api.listen", "host:port");
  expect_error("[api]\nlisten = \"127.0.0.1:99999\"\n", 2, "api.listen", "bad port");
  expect_error("[api]\nlisten = 8081\n", 2, "api.listen", "must be a string");
  expect_error("[server]\nlisten = \"127.0.0.1:8080\"\n[api]\nlisten = \"127.0.0.1:8080\"\n", 4,
               "api.listen", "must differ from server.listen");
  expect_error("[api]\nallowed_hosts = \"bot.example.com\"\n", 2, "api.allowed_hosts",
               "array of strings");
  expect_error("[api]\nallowed_hosts = [\"ok.example\",\n  \"http://bot.example.com/\"]\n", 3,
               "api.allowed_hosts[1]", "host name or address");
  for (const char* bad : {"", "bot example", "bot.example.com:0", "bot.example.com:x", "[::1",
                          "::1", "*.example.com"}) {
    expect_error(std::string("[api]\nallowed_hosts = [\"") + bad + "\"]\n", 2,
                 "api.allowed_hosts[0]", "host name or address");
  }
  expect_error("[api]\nlisten_on = \"x\"\n", 2, "api.listen_on", "unknown key");
}

TEST(ConfigTest, LoadConfigReportsUnreadableFile) {
  const auto registry = test_registry();
  try {
    load_config("/nonexistent/botgate.toml", registry);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.line(), 0);
    EXPECT_EQ(std::string(error.what()).rfind("/nonexistent/botgate.toml:0: cannot read file: ", 0),
              0u)
        << error.what();
  }
}

/// Every platform botgate has, as `botgate run` sees them.
platforms::PlatformRegistry all_platforms() {
  platforms::PlatformRegistry registry;
  platforms::register_all_platforms(registry);
  return registry;
}

TEST(ConfigTest, ExampleConfigLoads) {
  const auto registry = all_platforms();
  // The example takes credentials from the environment; whatever is set on this machine, the
  // file must load and every bot must be either enabled or skipped with a warning.
  const auto config =
      load_config(botgate::test::testdata_path("../../examples/botgate.toml"), registry);
  EXPECT_EQ(config.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(config.store.url, "sqlite://botgate.db");
  EXPECT_TRUE(config.echo.enabled);
  EXPECT_EQ(config.echo.prefix, "Hello, ");
  ASSERT_EQ(config.rules.size(), 1u);
  EXPECT_EQ(config.rules[0].match, R"(^\$hello$)");
  EXPECT_EQ(config.rules[0].reply, "Hello!");
  EXPECT_FALSE(config.rules[0].mention);  // `$hello` works without a mention
  EXPECT_EQ(config.bots.size() + config.warnings.size(), 4u);
  EXPECT_FALSE(config.onebot.enabled()) << "the example shows [onebot] switched off";
}

TEST(ConfigTest, TheExamplesApiLinesLoadUncommented) {
  // The example shows [api] listen and allowed_hosts as comments; each must work as written.
  const auto registry = all_platforms();
  std::ifstream in(botgate::test::testdata_path("../../examples/botgate.toml"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Environment none;  // every bot skipped: only [api] matters here
  EXPECT_TRUE(parse_config(text, "botgate.toml", registry, &none).api.listen.empty())
      << "make run serves the console on [server] listen";
  for (const std::string line : {"# listen = \"127.0.0.1:8081\"",
                                 "# allowed_hosts = [\"console.example.com\"]"}) {
    const auto at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    text.erase(at, 2);
  }
  const auto config = parse_config(text, "botgate.toml", registry, &none);
  EXPECT_EQ(config.api.listen, "127.0.0.1:8081");
  EXPECT_EQ(config.api.allowed_hosts, std::vector<std::string>{"console.example.com"});
}

TEST(ConfigTest, ExampleConfigSkipsBotsWithoutCredentials) {
  const auto registry = all_platforms();
  std::ifstream in(botgate::test::testdata_path("../../examples/botgate.toml"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Environment environment = {{"FEISHU_APP_ID", "cli_1"},
                                   {"FEISHU_APP_SECRET", "s"},
                                   {"FEISHU_VERIFICATION_TOKEN", "v"}};
  const auto config = parse_config(text, "botgate.toml", registry, &environment);
  // Discord's and QQ's platforms (not the loader) check their keys, so they skip those bots
  // when DISCORD_TOKEN or QQ_APP_ID is unset: Gateway::skipped() reports it.
  ASSERT_EQ(config.bots.size(), 3u);
  EXPECT_EQ(config.bots[0].name, "feishu");
  EXPECT_EQ(config.bots[0].get_string("encrypt_key", "x"), "");
  EXPECT_EQ(config.bots[1].name, "discord");
  EXPECT_EQ(config.bots[1].unset_variables.at("token"), "DISCORD_TOKEN");
  EXPECT_EQ(config.bots[2].name, "qq");
  EXPECT_EQ(config.bots[2].unset_variables.at("app_id"), "QQ_APP_ID");
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_EQ(config.warnings[0], "bot 'lark' skipped: LARK_APP_ID is not set");
}

}  // namespace
}  // namespace botgate::app
