#include "botgate/platforms/common/shard_settings.hpp"

#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>

namespace botgate::platforms {
namespace {

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument(what); }

}  // namespace

ShardSettings read_shard_settings(const BotSettings& settings, std::string_view platform) {
  ShardSettings shards;
  const std::int64_t count = settings.get_int("shard_count", 0);
  if (count < 0) {
    invalid("shard_count must be 0 (" + std::string(platform) + "'s recommended count) or more");
  }
  if (count > std::numeric_limits<int>::max()) invalid("shard_count is too large");
  shards.count = static_cast<int>(count);

  std::set<std::int64_t> seen;
  for (const std::int64_t id : settings.get_int_list("shards")) {
    if (id < 0) invalid("shards: shard id " + std::to_string(id) + " is negative");
    if (shards.count > 0 && id >= shards.count) {
      invalid("shards: shard id " + std::to_string(id) + " is not below shard_count (" +
              std::to_string(shards.count) + ")");
    }
    if (id > std::numeric_limits<int>::max()) {
      invalid("shards: shard id " + std::to_string(id) + " is too large");
    }
    if (!seen.insert(id).second) {
      invalid("shards: shard id " + std::to_string(id) + " is listed twice");
    }
    shards.ids.push_back(static_cast<int>(id));
  }
  return shards;
}

}  // namespace botgate::platforms
