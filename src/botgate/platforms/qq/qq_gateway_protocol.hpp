#pragma once
/// The QQ bot gateway (QQ notes section 4) as a sans-I/O `GatewayProtocol`: the dialect it shares
/// with Discord (platforms/common/gateway_dialect.hpp: Hello, heartbeats, sequence, op 7, op 9,
/// resume) with QQ's own parts: identify with `QQBot <access_token>`, intents and shard; QQ's
/// close codes; the five message events turned into `Event`s (qq_events.hpp).
///
/// QQ is Discord's close relative, with three differences that matter here: no resume URL (every
/// connection goes to the URL of GET /gateway), an access token that expires about every two hours
/// (so "authentication failed" usually means "identify again with a fresh token", which the runner
/// fetches before every connect), and its own close codes and intents.

#include "botgate/platforms/common/gateway_dialect.hpp"
#include "botgate/platforms/qq/qq_intents.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace botgate::qq {

struct QqGatewayOptions {
  /// The [[bot]] name, copied into every Event.
  std::string bot_name;
  /// The identify bitmask (see qq_intents.hpp).
  std::uint64_t intents = default_qq_intents();
  /// identify's `shard`: [shard_id, shard_count] (notes 4.5).
  int shard_id = 0;
  int shard_count = 1;
  /// A random number in [0, 1) for the jitter of the first heartbeat and of the wait after an
  /// invalid session. Null: a std::mt19937 seeded from std::random_device. Tests pass a constant.
  std::function<double()> unit_random;
};

/// QQ's gateway: the shared dialect (platforms/common/gateway_dialect.hpp) with QQ's identify
/// (`credential` is the whole identify token, "QQBot <access_token>"), close codes and message
/// events. Not thread-safe: all calls on the bot's gateway strand.
class QqGatewayProtocol final : public platforms::GatewayDialect {
 public:
  /// One shard's protocol; `options` as documented on its fields.
  explicit QqGatewayProtocol(QqGatewayOptions options);
};

}  // namespace botgate::qq
