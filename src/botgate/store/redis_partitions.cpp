#include "botgate/store/redis_partitions.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate::store {

namespace {

using Args = std::vector<std::string>;

/// A lease is trusted for its ttl minus a margin (a quarter of it, at most a second), counted
/// from before the command that renewed it was sent: the store stops giving out a partition's
/// work before Redis lets it lapse.
std::chrono::milliseconds lease_margin(std::chrono::milliseconds ttl) {
  return std::min<std::chrono::milliseconds>(ttl / 4, std::chrono::milliseconds(1000));
}

}  // namespace

int partition_of(std::string_view lane) {
  std::uint32_t hash = 2166136261u;
  for (char c : lane) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return static_cast<int>(hash % kPartitions);
}

void RedisPartition::taken_with(const std::string& new_lease) {
  lease = new_lease;
  releasing = false;
  claimed = false;
  rereading = true;
  pending_after.assign(1, '0');  // not = "0": GCC 12 warns falsely (-Wrestrict)
}

PartitionLeases::PartitionLeases(RedisClient& client, std::string prefix, std::string instance,
                                 std::string token, PartitionTiming timing)
    : client_(client),
      prefix_(std::move(prefix)),
      instance_(std::move(instance)),
      token_(std::move(token)),
      timing_(timing),
      round_script_(redis_scripts::kLeaseRound),
      release_script_(redis_scripts::kLeaseReleaseAll) {}

std::vector<std::string> PartitionLeases::bots() const {
  return {started_.begin(), started_.end()};
}

std::vector<std::string> PartitionLeases::served(const std::string& bot) {
  std::vector<std::string> out;
  const auto now = RedisPartition::Clock::now();
  BotPartitions& parts = of(bot);
  for (int p = 0; p < kPartitions; ++p) {
    if (parts[static_cast<std::size_t>(p)].serving(now)) out.push_back(std::to_string(p));
  }
  return out;
}

asio::awaitable<Result<void>> PartitionLeases::start(const std::string& bot) {
  auto taken = co_await lease_round(bot);
  if (!taken) co_return taken.error();
  started_.insert(bot);
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<std::string>>> PartitionLeases::round() {
  if (closed_) co_return std::vector<std::string>{};  // let go of for good: take nothing again
  std::vector<std::string> woken;
  for (const std::string& bot : bots()) {
    auto taken = co_await lease_round(bot);
    if (!taken) co_return taken.error();
    if (*taken) woken.push_back(bot);
  }
  co_return woken;
}

asio::awaitable<Result<bool>> PartitionLeases::lease_round(const std::string& bot) {
  // The share as the last round found it (every partition before the first): a member that
  // joined since counts from this round on, and what is over the share is let go of next time.
  const auto known_share = shares_.find(bot);
  const std::int64_t share = known_share == shares_.end() ? kPartitions : known_share->second;
  const bool first = !started_.contains(bot);
  // Let go of partitions over the share that nothing is out of; the others stop giving out new
  // work until they are idle too.
  BotPartitions& parts = of(bot);
  std::int64_t held = 0;
  for (const RedisPartition& part : parts) held += part.lease.empty() ? 0 : 1;
  std::int64_t over = held - share;
  std::vector<std::string> let_go;
  for (int p = kPartitions - 1; p >= 0; --p) {
    RedisPartition& part = parts[static_cast<std::size_t>(p)];
    if (part.lease.empty()) continue;
    part.releasing = over > 0;  // the share may have grown back: served again
    if (over > 0) {
      if (part.idle()) let_go.push_back(std::to_string(p));
      --over;
    }
  }
  Args args{bot,
            token_,
            instance_,
            std::to_string(timing_.lease_ttl.count()),
            first ? "1" : "0",
            std::to_string(kPartitions)};
  args.insert(args.end(), let_go.begin(), let_go.end());
  const auto sent_at = RedisPartition::Clock::now();
  auto reply = co_await eval_script(client_, prefix_, round_script_, std::move(args));
  if (!reply) co_return reply.error();
  if (reply->elements.empty()) co_return Error{errc::store_failed, "redis: a lease round without a share"};
  shares_[bot] = std::max<std::int64_t>(reply->elements[0].integer, 1);
  std::array<std::string, kPartitions> now_held;
  for (std::size_t i = 1; i + 1 < reply->elements.size(); i += 2) {
    const int p = static_cast<int>(reply->elements[i].integer);
    if (p >= 0 && p < kPartitions) now_held[static_cast<std::size_t>(p)] = reply->elements[i + 1].text;
  }
  std::string taken;      // "p:epoch ..." taken in this round
  std::string released;   // partitions let go of (rebalanced)
  std::string lapsed;     // partitions whose lease lapsed or was taken over
  for (int p = 0; p < kPartitions; ++p) {
    RedisPartition& part = parts[static_cast<std::size_t>(p)];
    const std::string& lease = now_held[static_cast<std::size_t>(p)];
    if (lease.empty()) {
      if (!part.lease.empty()) (part.releasing ? released : lapsed) += " " + std::to_string(p);
      part.lease.clear();
      part.releasing = false;
      continue;
    }
    if (lease != part.lease) {
      // A new epoch: what the partition's earlier holders left pending is claimed, and what
      // this object had out of it before (its lease lapsed and came back) is not given twice.
      taken += " " + std::to_string(p) + ":" + lease.substr(lease.find(' ') + 1);
      part.taken_with(lease);
    }
    part.held_until = sent_at + timing_.lease_ttl - lease_margin(timing_.lease_ttl);
  }
  if (!taken.empty()) {
    spdlog::info("store: bot {}: partitions taken (partition:epoch):{}", bot, taken);
  }
  if (!released.empty()) spdlog::info("store: bot {}: partitions handed over:{}", bot, released);
  if (!lapsed.empty()) {
    spdlog::warn("store: bot {}: partitions lost (their leases lapsed):{}", bot, lapsed);
  }
  co_return !taken.empty();
}

asio::awaitable<Result<void>> PartitionLeases::release_all() {
  closed_ = true;
  Args args{token_, std::to_string(kPartitions)};
  args.insert(args.end(), started_.begin(), started_.end());
  auto released = co_await eval_script(client_, prefix_, release_script_, std::move(args));
  if (!released) co_return released.error();
  co_return Result<void>{};
}

void PartitionLeases::inbox_given(const std::string& bot, int partition, std::int64_t id) {
  of(bot)[static_cast<std::size_t>(partition)].inbox_out.insert(id);
  inbox_owner_[id] = {bot, partition};
}

void PartitionLeases::inbox_ended(std::int64_t id) {
  auto it = inbox_owner_.find(id);
  if (it == inbox_owner_.end()) return;
  of(it->second.first)[static_cast<std::size_t>(it->second.second)].inbox_out.erase(id);
  inbox_owner_.erase(it);
}

void PartitionLeases::outbox_given(const std::string& bot, int partition, std::int64_t id) {
  of(bot)[static_cast<std::size_t>(partition)].outbox_out.insert(id);
  outbox_owner_[id] = {bot, partition};
}

void PartitionLeases::outbox_ended(std::int64_t id) {
  auto it = outbox_owner_.find(id);
  if (it == outbox_owner_.end()) return;
  of(it->second.first)[static_cast<std::size_t>(it->second.second)].outbox_out.erase(id);
  outbox_owner_.erase(it);
}

}  // namespace botgate::store
