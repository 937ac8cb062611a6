#include "botgate/platforms/common/shard_share.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate::platforms {

ShardShare::ShardShare(Store& store, const std::string& bot_key, const std::vector<int>& shards,
                       int shard_count, std::string member, std::chrono::milliseconds ttl)
    : store_(store),
      member_(std::move(member)),
      shards_(shards.size()),
      ttl_(ttl) {
  group_ = "gateway:" + bot_key + ":" + std::to_string(shard_count) + ":";
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (i > 0) group_ += ',';
    group_ += std::to_string(shards[i]);
  }
}

asio::awaitable<void> ShardShare::refresh() {
  const auto now = std::chrono::steady_clock::now();
  if (refreshed_at_ && now - *refreshed_at_ < ttl_ / 5) co_return;
  refreshed_at_ = now;
  auto members = co_await store_.presence(group_, member_, ttl_);
  if (!members) {
    spdlog::warn("gateway {}: cannot tell the other instances this one runs it: {}", group_,
                 members.error().message());
    co_return;
  }
  if (*members != members_) {
    spdlog::info("gateway {}: {} instance(s) share its {} shard(s)", group_, *members, shards_);
  }
  members_ = std::max<std::size_t>(*members, 1);
}

asio::awaitable<void> ShardShare::leave() {
  auto left = co_await store_.presence(group_, member_, std::chrono::milliseconds(0));
  if (!left) {
    spdlog::warn("gateway {}: cannot say this instance stops: {}; its share moves once its "
                 "presence expires", group_, left.error().message());
  }
}

std::size_t ShardShare::fair_share() const { return (shards_ + members_ - 1) / members_; }

std::optional<int> ShardShare::surplus() const {
  if (held_.size() <= fair_share()) return std::nullopt;
  return *held_.rbegin();
}

}  // namespace botgate::platforms
