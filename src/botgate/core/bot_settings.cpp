#include "botgate/core/bot_settings.hpp"

#include <utility>

namespace botgate {

namespace {

// The config loader has already checked every value against its SettingSpec, so a value of
// another type means a caller asked for the wrong key type: the fallback is the safe answer.
template <typename T>
const T* find_value(const std::map<std::string, SettingValue>& values, const std::string& key) {
  const auto it = values.find(key);
  if (it == values.end()) {
    return nullptr;
  }
  return std::get_if<T>(&it->second);
}

}  // namespace

std::string BotSettings::get_string(const std::string& key, std::string fallback) const {
  if (const auto* value = find_value<std::string>(values, key)) {
    return *value;
  }
  return fallback;
}

std::int64_t BotSettings::get_int(const std::string& key, std::int64_t fallback) const {
  if (const auto* value = find_value<std::int64_t>(values, key)) {
    return *value;
  }
  return fallback;
}

bool BotSettings::get_bool(const std::string& key, bool fallback) const {
  if (const auto* value = find_value<bool>(values, key)) {
    return *value;
  }
  return fallback;
}

std::vector<std::string> BotSettings::get_list(const std::string& key) const {
  if (const auto* value = find_value<std::vector<std::string>>(values, key)) {
    return *value;
  }
  return {};
}

std::vector<std::int64_t> BotSettings::get_int_list(const std::string& key) const {
  if (const auto* value = find_value<std::vector<std::int64_t>>(values, key)) {
    return *value;
  }
  return {};
}

std::string BotSettings::require_string(const std::string& key, const std::string& why) const {
  if (auto it = unset_variables.find(key); it != unset_variables.end()) {
    throw BotSkipped(it->second);
  }
  std::string value = get_string(key);
  if (value.empty()) throw std::invalid_argument(key + " is required" + why);
  return value;
}

}  // namespace botgate
