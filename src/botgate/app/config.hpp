#pragma once
/// The TOML config: loading, ${VAR} substitution and validation. Every error names the file,
/// the line and the key.

#include "botgate/core/bot_settings.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::platforms {
class PlatformRegistry;
}

namespace botgate::app {

/// A config that cannot be used. `what()` reads "FILE:LINE: KEY: what is wrong" ("FILE:LINE:
/// what is wrong" when no key applies, as for TOML syntax errors). KEY is a dotted path in toml++
/// path syntax with 0-based array indices: `server.threads`, `bot[1].app_id`,
/// `rule[0].platforms[2]`. LINE is 1-based; 0 when the file could not be read.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, const std::string& key, const std::string& what);

  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  const std::string& key() const noexcept { return key_; }

 private:
  std::string file_;
  int line_ = 0;
  std::string key_;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  unsigned threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 1048576;
  /// Connections open at once; 0 when not written: derived from the open-file limit
  /// (app/open_files.hpp), which also caps a value that is written.
  std::size_t max_connections = 0;
};

struct StoreConfig {
  std::string url = "sqlite://botgate.db";
  /// A Redis store's name for this instance (its consumer name): stable across restarts, one
  /// per instance when several share a Redis. Unused by a SQLite store.
  std::string instance = "botgate";
  /// rediss://: a CA file trusted beside the system's (a private CA); empty: the system's only.
  std::string ca_file = {};
};

struct LogConfig {
  std::string level = "info";  // trace debug info warn error
  std::string format = "text";  // text | json
};

struct ApiConfig {
  std::string token;   // empty: botgate makes one at its first start and keeps it in the store
  std::string listen;  // "host:port": the console, /api and /metrics there, not on server.listen
  std::vector<std::string> allowed_hosts;  // Host values accepted besides the listen address
  /// How long the event log keeps each accepted event for the event stream's resumes
  /// (GET /api/v1/events with a cursor); 1 second to 10 years.
  std::int64_t event_retention_s = 86400;
  /// A streamed reply whose producer changes nothing for this long is finished with what it has,
  /// marked cut short; 1 second to an hour.
  std::int64_t stream_stall_s = 60;
};

struct MetricsConfig {
  /// GET /metrics without the API token (for a scraper that cannot send one); off by default:
  /// the metrics name every bot and how busy it is.
  bool public_access = false;
};

struct RuleConfig {
  std::string match;  // RE2
  std::string reply;  // template: {text} {user} {user_id} {chat_id} {platform} {bot} {1}..{9}
  std::vector<std::string> platforms;  // empty: all
  std::vector<std::string> bots;       // empty: all
  bool mention = false;                // only messages addressed to the bot
  int line = 0;
};

struct EchoConfig {
  /// Off unless `[echo] enabled = true` is written: a bot answered by a service is never also
  /// answered by an echo.
  bool enabled = false;
  std::string prefix = "Hello, ";
};

/// One [forward] / [[forward]] target: a service that gets the events of some bots.
struct ForwardConfig {
  std::string url;
  std::string secret;  // HMAC key of X-Botgate-Signature; required
  int timeout_ms = 60000;
  int max_attempts = 10;  // then the event is dead-lettered
  int max_age_s = 3600;   // an event this old is dead-lettered at its next failure
  /// Which bots it serves: those named in `bots`, else those of `platforms`, else (both
  /// empty) every bot no other target serves. A bot is served by one target at most.
  std::vector<std::string> bots;
  std::vector<std::string> platforms;
  int line = 0;
};

/// The forward target that serves bot `name` of `platform`, if any (see ForwardConfig).
const ForwardConfig* forward_for(const std::vector<ForwardConfig>& forwards,
                                 const std::string& name, const std::string& platform);

/// [onebot]: botgate as a OneBot v11 implementation for frameworks (NoneBot2, Koishi...),
/// dialling them over the reverse WebSocket (reverse_url), accepting their forward WebSocket
/// connections on the API listener (serve), or both; Universal role. Off with neither.
struct OneBotConfig {
  std::string reverse_url;  // ws:// or wss://
  /// The forward WebSocket server: /onebot/v11/ws/<bot> on the API listener.
  bool serve = false;
  /// Sent as "Authorization: Bearer" on the reverse connection (empty: none); required of every
  /// forward connection (serve needs one).
  std::string access_token;
  /// Which bots: those named; empty: every bot that no [forward] target serves.
  std::vector<std::string> bots;
  /// Each bot's OneBot self id (X-Self-ID, get_login_info), 1 to 2^53 - 1; a bot not named
  /// gets onebot_default_self_id(name).
  std::map<std::string, std::int64_t> self_ids;
  int line = 0;
  bool enabled() const { return !reverse_url.empty() || serve; }
};

/// The self id of a bot that [onebot] self_ids does not name: a number from its name, the same
/// at every start, from 1,000,000,000 to 1,999,999,999 (not a number a configured id is likely
/// to take; a clash with one is an error at load).
std::int64_t onebot_default_self_id(std::string_view bot);

struct Config {
  std::string file;
  ServerConfig server;
  StoreConfig store;
  LogConfig log;
  ApiConfig api;
  MetricsConfig metrics;
  std::string proxy_url;
  std::vector<BotSettings> bots;  // enabled bots only
  std::vector<RuleConfig> rules;
  EchoConfig echo;
  std::vector<ForwardConfig> forwards;
  OneBotConfig onebot;
  /// Bots skipped because a ${VAR} they need is unset: "bot 'feishu' skipped: FEISHU_APP_ID is
  /// not set". The caller logs them as warnings.
  std::vector<std::string> warnings;
  /// The line of each enabled bot's [[bot]] header, by bot name, so that later checks (a
  /// platform factory rejecting a value) can still throw a ConfigError naming file and line.
  std::map<std::string, int> bot_lines;
};

/// Loads and validates `path`. Unknown keys, wrong types, missing required keys, duplicate bot
/// names, unknown platforms and bad values throw ConfigError.
Config load_config(const std::string& path, const platforms::PlatformRegistry& registry);

/// Same, from text (tests); `file` is the name used in errors.
Config parse_config(const std::string& text, const std::string& file,
                    const platforms::PlatformRegistry& registry,
                    const std::map<std::string, std::string>* environment = nullptr);

}  // namespace botgate::app
