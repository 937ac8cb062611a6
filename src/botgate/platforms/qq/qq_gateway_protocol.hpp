#pragma once
/// The QQ bot gateway (QQ notes section 4) as a sans-I/O `GatewayProtocol`: Hello -> heartbeat
/// (first beat jittered) + Identify or Resume with `QQBot <access_token>`; dispatches tracked by
/// sequence; READY/RESUMED saved as the session; the five message events turned into `Event`s
/// (qq_events.hpp); op 7, op 9 and close codes mapped to resume, re-identify or stop.
///
/// QQ is Discord's close relative, with three differences that matter here: no resume URL (every
/// connection goes to the URL of GET /gateway), an access token that expires about every two hours
/// (so "authentication failed" usually means "identify again with a fresh token", which the runner
/// fetches before every connect), and its own close codes and intents.

#include "botgate/core/gateway.hpp"
#include "botgate/platforms/qq/qq_intents.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

/// QQ's gateway state machine. Not thread-safe: all calls on the bot's gateway strand.
class QqGatewayProtocol final : public GatewayProtocol {
 public:
  explicit QqGatewayProtocol(QqGatewayOptions options);

  void restore(GatewaySession session) override;
  GatewaySession session() const override;

  /// `credential` is the whole identify token, "QQBot <access_token>".
  std::vector<GatewayAction> on_connected(std::string credential) override;
  std::vector<GatewayAction> on_frame(std::string_view frame) override;
  std::vector<GatewayAction> on_heartbeat_due() override;
  std::vector<GatewayAction> on_closed(int close_code) override;

 private:
  struct Payload;

  std::vector<GatewayAction> on_hello(const Payload& payload);
  std::vector<GatewayAction> on_dispatch(const Payload& payload);
  std::vector<GatewayAction> on_invalid_session(bool resumable);
  std::vector<GatewayAction> end_connection(GatewayAction action);
  Reconnect resume_action(std::string reason) const;
  Reconnect identify_action(std::string reason, std::chrono::milliseconds delay);
  std::string heartbeat_frame() const;
  std::string identify_frame() const;
  std::string resume_frame() const;
  std::string fatal_reason(int close_code) const;
  double unit_random();

  QqGatewayOptions options_;
  GatewaySession session_;
  std::string credential_;
  bool connection_over_ = false;
  bool awaiting_ack_ = false;
};

}  // namespace botgate::qq
