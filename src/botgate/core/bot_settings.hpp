#pragma once
/// One [[bot]] table of the config, as its platform's factory receives it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace botgate {

using SettingValue = std::variant<std::string, std::int64_t, bool, std::vector<std::string>,
                                  std::vector<std::int64_t>>;

/// `integer_list` is a TOML array of integers (Discord's `shards = [0, 2]`); unlike strings,
/// integers have no ${VAR} substitution.
enum class SettingType { string, integer, boolean, string_list, integer_list };

/// A platform-specific key that a [[bot]] table may (or must) have.
struct SettingSpec {
  std::string key;
  SettingType type = SettingType::string;
  bool required = false;
};

struct BotSettings {
  std::string name;      // unique, [a-z0-9-]+; the callback URL is /webhook/<name>
  std::string platform;  // "feishu", "lark", ...
  std::string api_base;  // empty: the platform's default
  std::string proxy;     // empty: the global [proxy] url (may be empty too)
  /// `concurrency`: how many of the bot's chats have their events handled at once (each chat's
  /// in order); 0 when not written: the runtime's default.
  std::size_t inbox_concurrency = 0;
  /// The platform's own keys (app_id, app_secret, ...), validated against its SettingSpecs,
  /// with ${VAR} already substituted.
  std::map<std::string, SettingValue> values;
  /// Optional keys whose ${VAR} was unset (key -> variable): their value is empty. A platform
  /// that needs such a key after all (WeCom: `corp_secret` for kind "app") calls
  /// `require_string`, which skips the bot with a warning naming the variable.
  std::map<std::string, std::string> unset_variables;

  /// The non-empty string value of `key`. Throws BotSkipped when its ${VAR} is unset, and
  /// std::invalid_argument("<key> is required<why>") when it is absent or empty.
  std::string require_string(const std::string& key, const std::string& why = {}) const;

  /// The string value of `key`, or `fallback` when absent.
  std::string get_string(const std::string& key, std::string fallback = {}) const;
  std::int64_t get_int(const std::string& key, std::int64_t fallback = 0) const;
  bool get_bool(const std::string& key, bool fallback = false) const;
  std::vector<std::string> get_list(const std::string& key) const;
  /// The integer list at `key` (SettingType::integer_list), or empty when absent.
  std::vector<std::int64_t> get_int_list(const std::string& key) const;
};

/// Thrown by a platform's factory for a bot that cannot run because a variable it needs is
/// unset; the bot is skipped with a warning, the rest of botgate starts.
class BotSkipped : public std::runtime_error {
 public:
  explicit BotSkipped(std::string variable)
      : std::runtime_error(variable + " is not set"), variable_(std::move(variable)) {}
  const std::string& variable() const noexcept { return variable_; }

 private:
  std::string variable_;
};

}  // namespace botgate
