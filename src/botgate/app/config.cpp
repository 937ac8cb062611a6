#include "botgate/app/config.hpp"

#include "botgate/net/url.hpp"
#include "botgate/store/redis_url.hpp"
#include "botgate/platforms/common/registry.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

namespace botgate::app {

namespace {

std::string format_error(const std::string& file, int line, const std::string& key,
                         const std::string& what) {
  std::string text = file + ":" + std::to_string(line) + ": ";
  if (!key.empty()) {
    text += key + ": ";
  }
  return text + what;
}

using Environment = std::map<std::string, std::string>;

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }
int line_of(const toml::key& key) { return static_cast<int>(key.source().begin.line); }

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) {
      text += ", ";
    }
    text += item;
  }
  return text;
}

/// A Host header value: a DNS name or IPv4 address, or a bracketed IPv6 address, with an
/// optional port 1..65535: exactly the authority of an http:// URL.
bool is_host_value(std::string_view text) {
  if (text.find_first_of("/?#@") != std::string_view::npos) return false;
  const auto url = net::parse_url("http://" + std::string(text));
  if (!url) return false;
  // Names as DNS has them: the URL grammar would also let "*" or "!" through.
  const bool bracketed = text.starts_with('[');
  return std::all_of(url->host.begin(), url->host.end(), [bracketed](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           (bracketed && c == ':');
  });
}

/// Checks an absolute http(s) URL as the HTTP client reads it (net::parse_url: a host, an
/// optional port, no credentials). Returns what is wrong, or an empty string. `allow_path`
/// false (proxies) accepts only an empty path or "/".
std::string check_http_url(std::string_view url, bool allow_https, bool allow_path) {
  if (!url.starts_with("http://") && !(allow_https && url.starts_with("https://"))) {
    return allow_https ? "must be an http:// or https:// URL" : "must be an http:// URL";
  }
  const auto parsed = net::parse_url(url);
  if (!parsed) return parsed.error().detail;
  if (!allow_path && parsed->target != "/") return "must not have a path";
  return {};
}

/// Checks "sqlite://relative.db" or "sqlite:///abs/path.db", or a Redis URL
/// (redis://[[user]:password@]host[:port][/db], rediss:// with TLS): refused here, with the file
/// and the line, rather than when the store is opened at start. Never repeats the URL, which may
/// hold a password.
std::string check_store_url(std::string_view url) {
  if (store::is_redis_url(url)) {
#ifdef BOTGATE_WITH_REDIS
    if (auto parsed = store::parse_redis_url(url); !parsed) return parsed.error().detail;
    return {};
#else
    return "this botgate was built without the Redis store (BOTGATE_WITH_REDIS=OFF): use a "
           "SQLite one, [store] url = \"sqlite://botgate.db\"";
#endif
  }
  if (!url.starts_with("sqlite://")) {
    return "must start with sqlite://, redis:// or rediss:// (sqlite://relative.db, "
           "sqlite:///abs/path.db, redis://host:6379/0)";
  }
  if (url.size() == 9 || url == "sqlite:///") {
    return "has no database path (sqlite://relative.db or sqlite:///abs/path.db)";
  }
  return {};
}

/// [store] instance: a Redis consumer name, and the mark on what this instance takes.
bool valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

/// [[bot]] concurrency: chats handled at once. Each holds an event (and its handler's work) in
/// memory; past a few thousand a bot only queues more in memory than the store would.
constexpr std::int64_t kMaxConcurrency = 4096;

bool is_bot_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_var_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_';
  });
}

/// A string after ${VAR} substitution, and the first variable it needed that is not set.
struct Substituted {
  std::string value;
  std::optional<std::string> unset;
};

/// Walks one file: every check throws ConfigError naming this file.
class Loader {
 public:
  Loader(std::string file, const platforms::PlatformRegistry& registry,
         const Environment* environment)
      : file_(std::move(file)), registry_(registry), environment_(environment) {}

  Config load(const std::string& text) {
    toml::table root;
    try {
      root = toml::parse(std::string_view(text), std::string_view(file_));
    } catch (const toml::parse_error& error) {
      throw ConfigError(file_, static_cast<int>(error.source().begin.line), "",
                        std::string(error.description()));
    }

    Config config;
    config.file = file_;
    check_keys(root, "", {"server", "store", "log", "api", "metrics", "proxy", "bot", "rule",
                          "echo", "forward", "onebot"});
    if (const auto* node = root.get("server")) {
      load_server(table_at(*node, "server"), config.server);
    }
    if (const auto* node = root.get("store")) {
      load_store(table_at(*node, "store"), config.store);
    }
    if (const auto* node = root.get("log")) {
      load_log(table_at(*node, "log"), config.log);
    }
    if (const auto* node = root.get("proxy")) {
      load_proxy(table_at(*node, "proxy"), config.proxy_url);
    }
    load_api(root, config);
    if (const auto* node = root.get("metrics")) {
      load_metrics(table_at(*node, "metrics"), config.metrics);
    }
    if (const auto* node = root.get("bot")) {
      load_bots(array_of_tables_at(*node, "bot"), config);
    }
    if (const auto* node = root.get("rule")) {
      load_rules(array_of_tables_at(*node, "rule"), config.rules);
    }
    if (const auto* node = root.get("echo")) {
      load_echo(table_at(*node, "echo"), config.echo);
    }
    if (const auto* node = root.get("forward")) {
      // [forward] for one service, [[forward]] for several.
      if (node->is_table()) {
        load_forward(*node->as_table(), "forward", config.forwards);
      } else {
        const auto tables = array_of_tables_at(*node, "forward");
        for (std::size_t i = 0; i < tables.size(); ++i) {
          load_forward(*tables[i], "forward[" + std::to_string(i) + "]", config.forwards);
        }
      }
      check_forward_bindings(config.forwards);
    }
    if (const auto* node = root.get("onebot")) {
      load_onebot(table_at(*node, "onebot"), config);
    }
    return config;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& key, const std::string& what) const {
    throw ConfigError(file_, line, key, what);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& key,
                         const std::string& what) const {
    fail(line_of(node), key, what);
  }

  static std::string join_key(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }

  /// Unknown keys are errors, so that a typo never silently falls back to a default. The
  /// earliest one in the file is reported.
  void check_keys(const toml::table& table, const std::string& prefix,
                  const std::vector<std::string>& allowed) const {
    const toml::key* first = nullptr;
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) {
        continue;
      }
      if (first == nullptr || key.source().begin < first->source().begin) {
        first = &key;
      }
    }
    if (first != nullptr) {
      fail(line_of(*first), join_key(prefix, first->str()),
           (prefix.empty() ? "unknown top-level key (known tables: " : "unknown key (known: ") +
               join(allowed) + ")");
    }
  }

  const toml::table& table_at(const toml::node& node, const std::string& key) const {
    const auto* table = node.as_table();
    if (table == nullptr) {
      fail(node, key, "must be a table ([" + key + "]), not " + type_name(node));
    }
    return *table;
  }

  std::vector<const toml::table*> array_of_tables_at(const toml::node& node,
                                                     const std::string& key) const {
    const auto* array = node.as_array();
    if (array == nullptr) {
      fail(node, key, "must be an array of tables ([[" + key + "]]), not " + type_name(node));
    }
    std::vector<const toml::table*> tables;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto& element = *array->get(i);
      const auto* table = element.as_table();
      if (table == nullptr) {
        fail(element, key + "[" + std::to_string(i) + "]",
             "must be a table ([[" + key + "]]), not " + type_name(element));
      }
      tables.push_back(table);
    }
    return tables;
  }

  const std::string& string_at(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_string();
    if (value == nullptr) {
      fail(node, key, "must be a string, not " + type_name(node));
    }
    return value->get();
  }

  std::int64_t integer_at(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_integer();
    if (value == nullptr) {
      fail(node, key, "must be an integer, not " + type_name(node));
    }
    return value->get();
  }

  bool boolean_at(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_boolean();
    if (value == nullptr) {
      fail(node, key, "must be a boolean (true or false), not " + type_name(node));
    }
    return value->get();
  }

  std::vector<std::string> strings_at(const toml::node& node, const std::string& key) const {
    const auto* array = node.as_array();
    if (array == nullptr) {
      fail(node, key, "must be an array of strings, not " + type_name(node));
    }
    std::vector<std::string> values;
    for (std::size_t i = 0; i < array->size(); ++i) {
      values.push_back(string_at(*array->get(i), key + "[" + std::to_string(i) + "]"));
    }
    return values;
  }

  /// An array whose every element is an integer. The whole array is named in the error, so
  /// that `shards = "0,1"` and `shards = [0, "1"]` read the same way.
  std::vector<std::int64_t> integers_at(const toml::node& node, const std::string& key) const {
    const auto* array = node.as_array();
    if (array == nullptr) {
      fail(node, key, "expected an array of integers, not " + type_name(node));
    }
    std::vector<std::int64_t> values;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto& element = *array->get(i);
      const auto* value = element.as_integer();
      if (value == nullptr) {
        fail(element, key,
             "expected an array of integers, but item " + std::to_string(i) + " is " +
                 type_name(element));
      }
      values.push_back(value->get());
    }
    return values;
  }

  std::optional<std::string> lookup(const std::string& name) const {
    if (environment_ != nullptr) {
      const auto it = environment_->find(name);
      if (it == environment_->end()) {
        return std::nullopt;
      }
      return it->second;
    }
    if (const char* value = std::getenv(name.c_str())) {
      return std::string(value);
    }
    return std::nullopt;
  }

  /// Replaces each ${NAME}. An unset variable is left to the caller (a bot is skipped, other
  /// keys fail); a malformed reference is an error here. An empty variable counts as set.
  Substituted substitute(const std::string& text, const toml::node& node,
                         const std::string& key) const {
    Substituted result;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto start = text.find("${", pos);
      if (start == std::string::npos) {
        result.value.append(text, pos);
        break;
      }
      result.value.append(text, pos, start - pos);
      const auto close = text.find('}', start + 2);
      if (close == std::string::npos) {
        fail(node, key, "unterminated ${ (write ${NAME})");
      }
      const auto name = text.substr(start + 2, close - start - 2);
      if (!is_var_name(name)) {
        fail(node, key, "bad environment variable name '" + name + "' in ${...}");
      }
      if (const auto value = lookup(name)) {
        result.value += *value;
      } else if (!result.unset) {
        result.unset = name;
      }
      pos = close + 1;
    }
    return result;
  }

  /// A string outside any bot: an unset variable is an error naming the key and the variable.
  std::string substituted_at(const toml::node& node, const std::string& key) const {
    auto result = substitute(string_at(node, key), node, key);
    if (result.unset) {
      fail(node, key, "environment variable " + *result.unset + " is not set");
    }
    return std::move(result.value);
  }

  void check_listen(const toml::node& node, const std::string& key,
                    const std::string& listen) const {
    if (net::split_host_port(listen)) return;
    // The shape is right when the address splits with a port that is surely valid: then the
    // port was what is wrong.
    const auto colon = listen.rfind(':');
    if (colon != std::string::npos && net::split_host_port(listen.substr(0, colon) + ":0")) {
      fail(node, key, "has a bad port '" + listen.substr(colon + 1) + "' (0..65535)");
    }
    fail(node, key, "must be \"host:port\" (e.g. \"127.0.0.1:8080\")");
  }

  void load_server(const toml::table& table, ServerConfig& server) const {
    check_keys(table, "server", {"listen", "threads", "max_body_bytes", "max_connections"});
    if (const auto* node = table.get("listen")) {
      const auto& listen = string_at(*node, "server.listen");
      check_listen(*node, "server.listen", listen);
      server.listen = listen;
    }
    if (const auto* node = table.get("threads")) {
      const auto threads = integer_at(*node, "server.threads");
      if (threads < 0 || threads > std::numeric_limits<unsigned>::max()) {
        fail(*node, "server.threads", "must be 0 (one per core) or a positive number");
      }
      server.threads = static_cast<unsigned>(threads);
    }
    if (const auto* node = table.get("max_body_bytes")) {
      const auto bytes = integer_at(*node, "server.max_body_bytes");
      if (bytes <= 0) {
        fail(*node, "server.max_body_bytes", "must be greater than 0");
      }
      server.max_body_bytes = static_cast<std::size_t>(bytes);
    }
    if (const auto* node = table.get("max_connections")) {
      const auto connections = integer_at(*node, "server.max_connections");
      if (connections <= 0) {
        fail(*node, "server.max_connections", "must be greater than 0");
      }
      server.max_connections = static_cast<std::size_t>(connections);
    }
  }

  void load_store(const toml::table& table, StoreConfig& store) const {
    check_keys(table, "store", {"url", "instance", "ca_file"});
    if (const auto* node = table.get("url")) {
      auto url = substituted_at(*node, "store.url");
      if (const auto problem = check_store_url(url); !problem.empty()) {
        fail(*node, "store.url", problem);
      }
      store.url = std::move(url);
    }
    if (const auto* node = table.get("instance")) {
      auto instance = substituted_at(*node, "store.instance");
      if (!valid_instance_name(instance)) {
        fail(*node, "store.instance",
             "must be 1 to 64 letters, digits, '-', '_' or '.' (a stable name per instance)");
      }
      store.instance = std::move(instance);
    }
    if (const auto* node = table.get("ca_file")) {
      store.ca_file = substituted_at(*node, "store.ca_file");
    }
  }

  void load_log(const toml::table& table, LogConfig& log) const {
    check_keys(table, "log", {"level", "format"});
    if (const auto* node = table.get("level")) {
      const auto& level = string_at(*node, "log.level");
      static const std::set<std::string, std::less<>> kLevels = {"trace", "debug", "info",
                                                                  "warn", "error"};
      if (!kLevels.contains(level)) {
        fail(*node, "log.level",
             "must be one of trace, debug, info, warn, error, not '" + level + "'");
      }
      log.level = level;
    }
    if (const auto* node = table.get("format")) {
      const auto& format = string_at(*node, "log.format");
      if (format != "text" && format != "json") {
        fail(*node, "log.format", "must be \"text\" or \"json\", not '" + format + "'");
      }
      log.format = format;
    }
  }

  void load_proxy(const toml::table& table, std::string& proxy_url) const {
    check_keys(table, "proxy", {"url"});
    if (const auto* node = table.get("url")) {
      auto url = substituted_at(*node, "proxy.url");
      if (!url.empty()) {
        if (const auto problem = check_http_url(url, false, false); !problem.empty()) {
          fail(*node, "proxy.url", problem + " (e.g. \"http://127.0.0.1:7890\")");
        }
      }
      proxy_url = std::move(url);
    }
  }

  /// [api] comes after [server]: its listen must differ from server.listen.
  void load_api(const toml::table& root, Config& config) const {
    const toml::node* api_node = root.get("api");
    if (api_node == nullptr) {
      return;
    }
    const auto& table = table_at(*api_node, "api");
    check_keys(table, "api",
               {"token", "listen", "allowed_hosts", "event_retention_s", "stream_stall_s"});
    if (const auto* node = table.get("stream_stall_s")) {
      config.api.stream_stall_s = positive_at(*node, "api.stream_stall_s", 3600, "seconds");
    }
    if (const auto* node = table.get("event_retention_s")) {
      // A number of seconds, as the key says: at most ten years.
      config.api.event_retention_s =
          positive_at(*node, "api.event_retention_s", 10LL * 366 * 86400, "seconds");
    }
    if (const auto* node = table.get("token")) {
      // An unset variable means "no token": botgate then makes one (api/api_token.hpp).
      auto result = substitute(string_at(*node, "api.token"), *node, "api.token");
      config.api.token = result.unset ? std::string() : std::move(result.value);
    }
    if (const auto* node = table.get("listen")) {
      const auto& listen = string_at(*node, "api.listen");
      if (!listen.empty()) {
        check_listen(*node, "api.listen", listen);
        if (listen == config.server.listen) {
          fail(*node, "api.listen",
               "must differ from server.listen (leave it empty to serve both there)");
        }
      }
      config.api.listen = listen;
    }
    if (const auto* node = table.get("allowed_hosts")) {
      config.api.allowed_hosts = strings_at(*node, "api.allowed_hosts");
      const auto* array = node->as_array();
      for (std::size_t i = 0; i < config.api.allowed_hosts.size(); ++i) {
        const std::string& host = config.api.allowed_hosts[i];
        if (!is_host_value(host)) {
          fail(*array->get(i), "api.allowed_hosts[" + std::to_string(i) + "]",
               "'" + host + "' must be a host name or address with an optional port, as in a "
               "Host header (e.g. \"bot.example.com\" or \"bot.example.com:8443\")");
        }
      }
    }
  }

  void load_bots(const std::vector<const toml::table*>& tables, Config& config) const {
    std::map<std::string, int> seen;  // name -> line, skipped bots included
    for (std::size_t i = 0; i < tables.size(); ++i) {
      const auto& table = *tables[i];
      const auto prefix = "bot[" + std::to_string(i) + "]";
      const int line = line_of(table);

      const auto* name_node = table.get("name");
      if (name_node == nullptr) {
        fail(line, prefix + ".name", "is required");
      }
      const auto& name = string_at(*name_node, prefix + ".name");
      if (!is_bot_name(name)) {
        fail(*name_node, prefix + ".name",
             "'" + name + "' must be lower-case letters, digits and '-' ([a-z0-9-]+)");
      }
      if (const auto* owner = registry_.builtin_bot_owner(name)) {
        fail(*name_node, prefix + ".name",
             "'" + name + "' is " + owner->builtin_bot->description + "; choose another name");
      }
      declared_bots_.insert(name);
      if (const auto [it, inserted] = seen.try_emplace(name, line_of(*name_node)); !inserted) {
        fail(*name_node, prefix + ".name",
             "duplicate bot name '" + name + "' (first used on line " +
                 std::to_string(it->second) + ")");
      }

      const auto* platform_node = table.get("platform");
      if (platform_node == nullptr) {
        fail(line, prefix + ".platform", "is required");
      }
      const auto& platform = string_at(*platform_node, prefix + ".platform");
      const auto* descriptor = registry_.find(platform);
      if (descriptor == nullptr) {
        fail(*platform_node, prefix + ".platform",
             "unknown platform '" + platform + "' (known: " +
                 join(registry_.configurable_names()) + ")");
      }
      if (descriptor->builtin_bot) {
        fail(*platform_node, prefix + ".platform",
             "platform '" + platform + "' has only its built-in bot '" +
                 descriptor->builtin_bot->name + "' (" + descriptor->builtin_bot->description +
                 "), which botgate creates itself (platforms for a [[bot]]: " +
                 join(registry_.configurable_names()) + ")");
      }

      BotSettings bot;
      bot.name = name;
      bot.platform = platform;
      std::optional<std::string> unset;
      const auto note_unset = [&unset](const Substituted& result) {
        if (result.unset && !unset) {
          unset = result.unset;
        }
      };

      // Keys in file order, so that the first problem reported is the first in the file.
      std::vector<std::pair<const toml::key*, const toml::node*>> entries;
      for (auto&& [key, value] : table) {
        entries.emplace_back(&key, &value);
      }
      std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.first->source().begin < b.first->source().begin;
      });

      for (const auto& [key_ptr, node_ptr] : entries) {
        const auto& key = key_ptr->str();
        const auto& node = *node_ptr;
        const auto path = prefix + "." + std::string(key);
        if (key == "name" || key == "platform") {
          continue;
        }
        if (key == "concurrency") {
          const auto concurrency = integer_at(node, path);
          if (concurrency < 1 || concurrency > kMaxConcurrency) {
            fail(node, path,
                 "must be 1.." + std::to_string(kMaxConcurrency) +
                     " (how many of the bot's chats are handled at once)");
          }
          bot.inbox_concurrency = static_cast<std::size_t>(concurrency);
          continue;
        }
        if (key == "api_base" || key == "proxy") {
          auto result = substitute(string_at(node, path), node, path);
          if (result.unset) result.value.clear();  // optional: unset means the default
          const bool is_proxy = key == "proxy";
          if (!result.unset && !result.value.empty()) {
            if (const auto problem = check_http_url(result.value, !is_proxy, !is_proxy);
                !problem.empty()) {
              fail(node, path, problem);
            }
          }
          (is_proxy ? bot.proxy : bot.api_base) = std::move(result.value);
          continue;
        }
        const auto spec = std::find_if(descriptor->settings.begin(), descriptor->settings.end(),
                                       [&key](const SettingSpec& s) { return s.key == key; });
        if (spec == descriptor->settings.end()) {
          fail(line_of(*key_ptr), path,
               "unknown key for platform '" + platform + "' (known: " +
                   known_bot_keys(*descriptor) + ")");
        }
        switch (spec->type) {
          case SettingType::string: {
            auto result = substitute(string_at(node, path), node, path);
            // DESIGN.md: only a *required* key's unset variable skips the bot; an optional
            // key (encrypt_key, verification_token) with an unset variable is simply empty.
            if (spec->required) {
              note_unset(result);
            } else if (result.unset) {
              bot.unset_variables[spec->key] = *result.unset;
              result.value.clear();
            }
            bot.values[spec->key] = std::move(result.value);
            break;
          }
          case SettingType::integer:
            bot.values[spec->key] = integer_at(node, path);
            break;
          case SettingType::boolean:
            bot.values[spec->key] = boolean_at(node, path);
            break;
          case SettingType::string_list: {
            auto items = strings_at(node, path);
            const auto* array = node.as_array();
            std::vector<std::string> values;
            for (std::size_t j = 0; j < items.size(); ++j) {
              const auto item_path = path + "[" + std::to_string(j) + "]";
              auto result = substitute(items[j], *array->get(j), item_path);
              if (spec->required) note_unset(result);
              // An optional list drops the items whose variable is unset.
              if (!result.unset) values.push_back(std::move(result.value));
            }
            bot.values[spec->key] = std::move(values);
            break;
          }
          case SettingType::integer_list:
            bot.values[spec->key] = integers_at(node, path);
            break;
        }
      }

      for (const auto& spec : descriptor->settings) {
        if (spec.required && !bot.values.contains(spec.key)) {
          fail(line, prefix + "." + spec.key,
               "is required for platform '" + platform + "' (bot '" + name + "')");
        }
      }

      if (unset) {
        config.warnings.push_back("bot '" + name + "' skipped: " + *unset + " is not set");
        continue;
      }
      config.bot_lines[name] = line;
      config.bots.push_back(std::move(bot));
    }
  }

  static std::string known_bot_keys(const platforms::PlatformDescriptor& descriptor) {
    std::vector<std::string> keys = {"name", "platform", "api_base", "proxy", "concurrency"};
    for (const auto& spec : descriptor.settings) {
      keys.push_back(spec.key);
    }
    return join(keys);
  }

  void load_rules(const std::vector<const toml::table*>& tables,
                  std::vector<RuleConfig>& rules) const {
    for (std::size_t i = 0; i < tables.size(); ++i) {
      const auto& table = *tables[i];
      const auto prefix = "rule[" + std::to_string(i) + "]";
      check_keys(table, prefix, {"match", "reply", "platforms", "bots", "mention"});
      RuleConfig rule;
      rule.line = line_of(table);

      const auto* match = table.get("match");
      if (match == nullptr) {
        fail(rule.line, prefix + ".match", "is required");
      }
      rule.match = string_at(*match, prefix + ".match");
      if (rule.match.empty()) {
        fail(*match, prefix + ".match", "must not be empty");
      }
      const auto* reply = table.get("reply");
      if (reply == nullptr) {
        fail(rule.line, prefix + ".reply", "is required");
      }
      rule.reply = string_at(*reply, prefix + ".reply");

      if (const auto* node = table.get("platforms")) {
        rule.platforms = strings_at(*node, prefix + ".platforms");
        const auto* array = node->as_array();
        for (std::size_t j = 0; j < rule.platforms.size(); ++j) {
          const auto& platform = rule.platforms[j];
          if (registry_.find(platform) == nullptr) {
            fail(*array->get(j), prefix + ".platforms[" + std::to_string(j) + "]",
                 "unknown platform '" + platform + "' (known: " + join(registry_.names()) + ")");
          }
        }
      }
      if (const auto* node = table.get("bots")) {
        rule.bots = strings_at(*node, prefix + ".bots");
      }
      if (const auto* node = table.get("mention")) {
        rule.mention = boolean_at(*node, prefix + ".mention");
      }
      rules.push_back(std::move(rule));
    }
  }

  void load_metrics(const toml::table& table, MetricsConfig& metrics) const {
    check_keys(table, "metrics", {"public"});
    if (const auto* node = table.get("public")) {
      metrics.public_access = boolean_at(*node, "metrics.public");
    }
  }

  void load_echo(const toml::table& table, EchoConfig& echo) const {
    check_keys(table, "echo", {"enabled", "prefix"});
    if (const auto* node = table.get("enabled")) {
      echo.enabled = boolean_at(*node, "echo.enabled");
    }
    if (const auto* node = table.get("prefix")) {
      echo.prefix = string_at(*node, "echo.prefix");
    }
  }

  /// A positive integer at `key`, at most `max`.
  int positive_at(const toml::node& node, const std::string& key, std::int64_t max,
                  const std::string& unit) const {
    const auto value = integer_at(node, key);
    if (value <= 0 || value > max) {
      fail(node, key, "must be a positive number of " + unit + " (at most " +
                          std::to_string(max) + ")");
    }
    return static_cast<int>(value);
  }

  void load_forward(const toml::table& table, const std::string& prefix,
                    std::vector<ForwardConfig>& forwards) const {
    check_keys(table, prefix, {"url", "secret", "timeout_ms", "max_attempts", "max_age_s",
                               "bots", "platforms"});
    ForwardConfig forward;
    forward.line = line_of(table);
    if (const auto* node = table.get("url")) {
      forward.url = substituted_at(*node, prefix + ".url");
      if (!forward.url.empty()) {
        if (const auto problem = check_http_url(forward.url, true, true); !problem.empty()) {
          fail(*node, prefix + ".url", problem);
        }
      }
    }
    if (const auto* node = table.get("timeout_ms")) {
      forward.timeout_ms = positive_at(*node, prefix + ".timeout_ms", 3'600'000, "milliseconds");
    }
    if (const auto* node = table.get("max_attempts")) {
      forward.max_attempts = positive_at(*node, prefix + ".max_attempts", 1000, "attempts");
    }
    if (const auto* node = table.get("max_age_s")) {
      forward.max_age_s = positive_at(*node, prefix + ".max_age_s", 30 * 86400, "seconds");
    }
    if (const auto* node = table.get("platforms")) {
      forward.platforms = strings_at(*node, prefix + ".platforms");
      const auto* array = node->as_array();
      for (std::size_t j = 0; j < forward.platforms.size(); ++j) {
        if (registry_.find(forward.platforms[j]) == nullptr) {
          fail(*array->get(j), prefix + ".platforms[" + std::to_string(j) + "]",
               "unknown platform '" + forward.platforms[j] + "' (known: " +
                   join(registry_.names()) + ")");
        }
      }
    }
    if (const auto* node = table.get("bots")) {
      forward.bots = strings_at(*node, prefix + ".bots");
      const auto* array = node->as_array();
      for (std::size_t j = 0; j < forward.bots.size(); ++j) {
        if (!declared_bots_.contains(forward.bots[j]) &&
            registry_.builtin_bot_owner(forward.bots[j]) == nullptr) {
          fail(*array->get(j), prefix + ".bots[" + std::to_string(j) + "]",
               "no [[bot]] is named '" + forward.bots[j] + "'");
        }
      }
    }
    if (forward.url.empty()) {
      // `[forward] url = ""` (as a template leaves it) forwards nothing; a [[forward]] of
      // several must say where.
      if (prefix == "forward") return;
      fail(forward.line, prefix + ".url", "is required");
    }
    // The service must be able to tell botgate's POSTs from anyone's: unsigned events would let
    // whoever reaches its URL speak for every user of every platform.
    const auto* secret = table.get("secret");
    if (secret == nullptr) {
      fail(forward.line, prefix + ".secret",
           "is required: the key botgate signs each POST with (X-Botgate-Signature); use a "
           "random string of at least 16 characters, e.g. from `openssl rand -hex 32`");
    }
    forward.secret = substituted_at(*secret, prefix + ".secret");
    if (forward.secret.size() < 16) {
      fail(*secret, prefix + ".secret",
           "is too short to sign with: use a random string of at least 16 characters");
    }
    forwards.push_back(std::move(forward));
  }

  void load_onebot(const toml::table& table, Config& config) const {
    check_keys(table, "onebot", {"reverse_url", "serve", "access_token", "bots", "self_ids"});
    OneBotConfig& onebot = config.onebot;
    onebot.line = line_of(table);
    if (const auto* node = table.get("reverse_url")) {
      onebot.reverse_url = substituted_at(*node, "onebot.reverse_url");
      if (!onebot.reverse_url.empty()) {
        std::string problem;
        if (!onebot.reverse_url.starts_with("ws://") &&
            !onebot.reverse_url.starts_with("wss://")) {
          problem = "must be a ws:// or wss:// URL (the framework's reverse WebSocket endpoint)";
        } else {
          // The URL parser reads http(s); the WebSocket client reads ws(s) URLs the same way.
          const bool tls = onebot.reverse_url.starts_with("wss://");
          const std::string as_http =
              (tls ? "https://" : "http://") + onebot.reverse_url.substr(tls ? 6 : 5);
          problem = check_http_url(as_http, true, true);
        }
        if (!problem.empty()) fail(*node, "onebot.reverse_url", problem);
      }
    }
    if (const auto* node = table.get("access_token")) {
      onebot.access_token = substituted_at(*node, "onebot.access_token");
    }
    if (const auto* node = table.get("serve")) {
      onebot.serve = boolean_at(*node, "onebot.serve");
    }
    if (onebot.serve && onebot.access_token.empty()) {
      // The forward WebSocket speaks for every user of the bots it serves: never open.
      const auto* node = table.get("access_token");
      fail(node ? line_of(*node) : onebot.line, "onebot.access_token",
           "is required with serve = true: every framework connecting to botgate presents it; "
           "use a random string, e.g. from `openssl rand -hex 32`");
    }
    auto known_bot = [&](const std::string& name) {
      return declared_bots_.contains(name) || registry_.builtin_bot_owner(name) != nullptr;
    };
    if (const auto* node = table.get("bots")) {
      onebot.bots = strings_at(*node, "onebot.bots");
      const auto* array = node->as_array();
      for (std::size_t j = 0; j < onebot.bots.size(); ++j) {
        const std::string key = "onebot.bots[" + std::to_string(j) + "]";
        if (!known_bot(onebot.bots[j])) {
          fail(*array->get(j), key, "no [[bot]] is named '" + onebot.bots[j] + "'");
        }
        std::string platform;
        for (const BotSettings& b : config.bots) {
          if (b.name == onebot.bots[j]) platform = b.platform;
        }
        if (const auto* owner = registry_.builtin_bot_owner(onebot.bots[j])) platform = owner->name;
        if (forward_for(config.forwards, onebot.bots[j], platform) != nullptr) {
          fail(*array->get(j), key,
               "bot '" + onebot.bots[j] +
                   "' is already served by a [forward] target: a bot is answered by one "
                   "service");
        }
      }
    }
    if (const auto* node = table.get("self_ids")) {
      const auto* ids = node->as_table();
      if (ids == nullptr) {
        fail(*node, "onebot.self_ids",
             "must be a table of bot names to numbers, e.g. { feishu = 10001 }, not " +
                 type_name(*node));
      }
      std::map<std::int64_t, std::string> taken;
      for (auto&& [name, value] : *ids) {
        const std::string key = "onebot.self_ids." + std::string(name.str());
        if (!known_bot(std::string(name.str()))) {
          fail(line_of(name), key, "no [[bot]] is named '" + std::string(name.str()) + "'");
        }
        const auto id = integer_at(value, key);
        if (id < 1 || id > (std::int64_t{1} << 53) - 1) {
          fail(value, key,
               "must be a positive integer below 2^53 (OneBot frameworks in JavaScript read ids "
               "as doubles)");
        }
        if (auto [it, added] = taken.emplace(id, std::string(name.str())); !added) {
          fail(value, key, "is bot '" + it->second + "''s self id too: each bot needs its own");
        }
        onebot.self_ids[std::string(name.str())] = id;
      }
      for (const BotSettings& b : config.bots) {
        if (onebot.self_ids.contains(b.name)) continue;
        if (auto it = taken.find(onebot_default_self_id(b.name)); it != taken.end()) {
          fail(*node, "onebot.self_ids",
               "bot '" + b.name + "' would get the self id " + std::to_string(it->first) +
                   " of bot '" + it->second + "': give it one in self_ids");
        }
      }
    }
  }

  /// Each bot is served by one target at most: a bot or platform named by two targets, or two
  /// targets for all, would leave it to the order in the file.
  void check_forward_bindings(const std::vector<ForwardConfig>& forwards) const {
    std::map<std::string, std::size_t> bots;
    std::map<std::string, std::size_t> platforms;
    std::optional<std::size_t> catch_all;
    for (std::size_t i = 0; i < forwards.size(); ++i) {
      const ForwardConfig& f = forwards[i];
      const std::string prefix = "forward[" + std::to_string(i) + "]";
      for (const std::string& bot : f.bots) {
        if (auto [it, fresh] = bots.emplace(bot, i); !fresh) {
          fail(f.line, prefix + ".bots",
               "bot '" + bot + "' is already served by forward[" + std::to_string(it->second) +
                   "]");
        }
      }
      for (const std::string& platform : f.platforms) {
        if (auto [it, fresh] = platforms.emplace(platform, i); !fresh) {
          fail(f.line, prefix + ".platforms",
               "platform '" + platform + "' is already served by forward[" +
                   std::to_string(it->second) + "]");
        }
      }
      if (f.bots.empty() && f.platforms.empty()) {
        if (catch_all) {
          fail(f.line, prefix,
               "serves every bot, as forward[" + std::to_string(*catch_all) +
                   "] does: give one of them `bots` or `platforms`");
        }
        catch_all = i;
      }
    }
  }

  std::string file_;
  /// Every [[bot]] name, skipped bots included (load_bots fills it).
  mutable std::set<std::string> declared_bots_;
  const platforms::PlatformRegistry& registry_;
  const Environment* environment_;
};

}  // namespace

std::int64_t onebot_default_self_id(std::string_view bot) {
  // FNV-1a: the same on every machine and at every start, unlike std::hash.
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : bot) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return 1'000'000'000 + static_cast<std::int64_t>(hash % 1'000'000'000);
}

const ForwardConfig* forward_for(const std::vector<ForwardConfig>& forwards,
                                 const std::string& name, const std::string& platform) {
  const ForwardConfig* by_platform = nullptr;
  const ForwardConfig* for_all = nullptr;
  for (const ForwardConfig& f : forwards) {
    if (std::ranges::find(f.bots, name) != f.bots.end()) return &f;
    if (std::ranges::find(f.platforms, platform) != f.platforms.end()) by_platform = &f;
    if (f.bots.empty() && f.platforms.empty()) for_all = &f;
  }
  return by_platform ? by_platform : for_all;
}

ConfigError::ConfigError(const std::string& file, int line, const std::string& key,
                         const std::string& what)
    : std::runtime_error(format_error(file, line, key, what)),
      file_(file),
      line_(line),
      key_(key) {}

Config load_config(const std::string& path, const platforms::PlatformRegistry& registry) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path, 0, "", "cannot read file: it is a directory");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw ConfigError(path, 0, "",
                      std::string("cannot read file: ") +
                          (error != 0 ? std::strerror(error) : "open failed"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(path, 0, "", "cannot read file: read failed");
  }
  return parse_config(text.str(), path, registry, nullptr);
}

Config parse_config(const std::string& text, const std::string& file,
                    const platforms::PlatformRegistry& registry,
                    const std::map<std::string, std::string>* environment) {
  return Loader(file, registry, environment).load(text);
}

}  // namespace botgate::app
