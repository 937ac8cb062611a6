#pragma once
/// Spreads a bot's gateway shards evenly over the instances that run it on one store. Each
/// instance says it takes part (Store::presence, renewed every ttl/3) and holds at most its
/// fair share of the shards, ceil(shards / instances): a new instance gets shards handed over
/// by the others within a few seconds, instead of standing by while the first one holds all.
/// Only instances that run the same shards of the bot (`shards`, `shard_count`) share: the
/// group's name says which.
///
/// Thread safety: on the bot's strand only.

#include "botgate/core/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace botgate::platforms {

namespace asio = boost::asio;

class ShardShare {
 public:
  /// `shards`: the ids this instance runs; `member`: process_lease_holder() unless a test plays
  /// several instances.
  ShardShare(Store& store, const std::string& bot_key, const std::vector<int>& shards,
             int shard_count, std::string member, std::chrono::milliseconds ttl);

  /// Says again that this instance takes part, at most once a fifth of the ttl (about the
  /// lease retry), and learns how many do. A store that does not answer keeps the last count.
  asio::awaitable<void> refresh();
  /// Says that this instance no longer takes part (it stops): the others take its share.
  asio::awaitable<void> leave();

  /// The most shards this instance should hold now.
  std::size_t fair_share() const;
  bool may_take() const { return held_.size() < fair_share(); }
  /// The shard to hand over to another instance now (the highest held), when more than the
  /// fair share are held.
  std::optional<int> surplus() const;
  void took(int shard) { held_.insert(shard); }
  void gave_up(int shard) { held_.erase(shard); }

  const std::string& group() const noexcept { return group_; }

 private:
  Store& store_;
  std::string group_;
  std::string member_;
  std::size_t shards_;
  std::chrono::milliseconds ttl_;
  std::size_t members_ = 1;  // the last count heard; this instance alone until then
  std::optional<std::chrono::steady_clock::time_point> refreshed_at_;
  std::set<int> held_;
};

}  // namespace botgate::platforms
