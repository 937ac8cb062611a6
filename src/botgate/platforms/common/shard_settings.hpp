#pragma once
/// The `shard_count` and `shards` keys that the gateway platforms (Discord, QQ) share.

#include "botgate/core/bot_settings.hpp"

#include <string_view>
#include <vector>

namespace botgate::platforms {

struct ShardSettings {
  /// 0: the count the platform recommends (GET /gateway/bot).
  int count = 0;
  /// The shard ids this process runs; empty: all of them.
  std::vector<int> ids;
};

/// Reads and checks `shard_count` (0 or more) and `shards` (ids not negative, below shard_count
/// when it is set, none twice). With shard_count 0 the ids can only be checked against the
/// recommended count when the gateway starts. Throws std::invalid_argument naming the key;
/// `platform` ("Discord", "QQ") names whose recommendation 0 stands for.
ShardSettings read_shard_settings(const BotSettings& settings, std::string_view platform);

}  // namespace botgate::platforms
