#pragma once
/// Several botgate instances on one Redis: each bot's inbox and outbox are split into
/// kPartitions partitions by chat (partition_of), and each partition is served by one store
/// object at a time, under a lease with a fencing epoch, so that one chat's events and replies
/// are handled in order by one instance while different chats spread over the instances.
///
/// For every bot it was asked about, each store object is one of the bot's members (for
/// `lease_ttl` after its last lease round) and holds a fair share of the bot's partitions:
/// ceil(kPartitions / the bot's live members; an instance that does not run the bot does not
/// count). A lease is the key lease:<bot>:<p> = "<token> <epoch>" with PX `lease_ttl`, taken
/// with a new epoch (INCR epoch:<bot>:<p>) when free, renewed every `renew_every`. An object over
/// its share (a new instance appeared) stops giving out new work of its extra partitions and lets
/// go of each once nothing of it is out. A dead instance's leases lapse after `lease_ttl`, and
/// its membership with them: the others take its partitions over within lease_ttl + renew_every
/// (10 + 2.5 s by default), and first claim what it had pending (the store's inbox reader does
/// that: RedisPartition::claimed). A restarted instance (same `[store] instance`) takes back
/// its own partitions at once.
///
/// Thread safety: the store's thread only.

#include "botgate/core/error.hpp"
#include "botgate/store/redis_client.hpp"
#include "botgate/store/redis_scripts.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace botgate::store {

/// Partitions per bot: at most this many instances share one bot's work.
inline constexpr int kPartitions = 16;

/// The partition of a chat lane (core/event's chat_lane, OutgoingMessage::lane()): FNV-1a of the
/// lane, mod kPartitions. An event and the messages to its chat have the same lane, hence the
/// same partition. Stable: stored data depends on it.
int partition_of(std::string_view lane);

struct PartitionTiming {
  /// A lease, and a bot's membership, lapse this long after their last renewal.
  std::chrono::milliseconds lease_ttl{10000};
  /// How often leases are renewed (and free partitions looked for).
  std::chrono::milliseconds renew_every{2500};
};

/// One partition of one bot, as this store object sees it.
struct RedisPartition {
  using Clock = std::chrono::steady_clock;
  /// "<token> <epoch>" while this object holds the lease; empty when it does not.
  std::string lease;
  /// The lease is surely still this object's until then (renewed before it, minus a margin).
  Clock::time_point held_until{};
  /// Over this object's share: gives out nothing new from it; let go once nothing is out.
  bool releasing = false;
  /// The inbox stream's group exists and what the partition's previous holders had pending was
  /// claimed into this instance's consumer (done by the first take after the lease was taken).
  bool claimed = false;
  /// Still giving out again what this instance's consumer holds as delivered and not
  /// acknowledged, from `pending_after` on.
  bool rereading = true;
  std::string pending_after = "0";
  /// Inbox items given out and not completed or dead-lettered: never given twice.
  std::set<std::int64_t> inbox_out;
  /// Outbox messages taken and not ended.
  std::set<std::int64_t> outbox_out;

  bool serving(Clock::time_point now) const {
    return !lease.empty() && !releasing && now < held_until;
  }
  bool idle() const { return inbox_out.empty() && outbox_out.empty(); }
  /// Held from now on under `new_lease` (a new epoch): claim and reread again.
  void taken_with(const std::string& new_lease);
};

using BotPartitions = std::array<RedisPartition, kPartitions>;

class PartitionLeases {
 public:
  PartitionLeases(RedisClient& client, std::string prefix, std::string instance,
                  std::string token, PartitionTiming timing);

  const std::string& token() const noexcept { return token_; }
  const PartitionTiming& timing() const noexcept { return timing_; }

  /// Whether `bot` has had its first lease round.
  bool knows(const std::string& bot) const { return started_.contains(bot); }
  BotPartitions& of(const std::string& bot) { return bots_[bot]; }
  std::vector<std::string> bots() const;
  /// The partitions of `bot` this object serves now, as decimal strings (script arguments).
  std::vector<std::string> served(const std::string& bot);

  /// The bot's first lease round (taking back this instance's own partitions, and forgetting an
  /// earlier object of this instance as a member). Called before this object first gives out
  /// `bot`'s work.
  asio::awaitable<Result<void>> start(const std::string& bot);
  /// A lease round for every known bot. Returns the bots that took a partition (work may wait
  /// in it).
  asio::awaitable<Result<std::vector<std::string>>> round();
  /// Lets go of every lease and of the membership (a clean shutdown: the others take over at
  /// once instead of after lease_ttl).
  asio::awaitable<Result<void>> release_all();

  /// Bookkeeping of what is out, so that a partition is let go of only once idle.
  void inbox_given(const std::string& bot, int partition, std::int64_t id);
  void inbox_ended(std::int64_t id);
  void outbox_given(const std::string& bot, int partition, std::int64_t id);
  void outbox_ended(std::int64_t id);

 private:
  /// Returns whether a partition was taken.
  asio::awaitable<Result<bool>> lease_round(const std::string& bot);

  RedisClient& client_;
  std::string prefix_;
  std::string instance_;
  std::string token_;
  PartitionTiming timing_;
  bool closed_ = false;  // release_all ran: no round takes a lease again
  std::map<std::string, std::int64_t> shares_;  // per bot, as the last round found it
  std::map<std::string, BotPartitions> bots_;
  std::set<std::string> started_;  // bots whose first round (taking back own leases) ran
  std::unordered_map<std::int64_t, std::pair<std::string, int>> inbox_owner_;
  std::unordered_map<std::int64_t, std::pair<std::string, int>> outbox_owner_;
  const RedisScript round_script_;
  const RedisScript release_script_;
};

}  // namespace botgate::store
