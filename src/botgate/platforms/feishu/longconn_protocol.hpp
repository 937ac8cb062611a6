#pragma once
/// The Feishu/Lark long connection (长连接, longconn-and-streaming notes 1) as a GatewayProtocol:
/// the runner that drives the Discord and QQ gateways owns the socket, the timers and the store;
/// this turns its binary frames into actions.
///
/// - A ping at once and every PingInterval; a pong's ClientConfig changes the interval on the
///   fly. A ping still unanswered when the next is due means a half-open connection: it is
///   replaced (the official SDKs wait for a read to fail, which may be never).
/// - Event frames are put back together from their fragments, read exactly as webhook events
///   (feishu_events), and acknowledged (the same frame back, with biz_rt and {"code":200}) only
///   once the event is durable in the inbox: the platform's 3 s budget is not spent on the
///   bot's logic, and an acknowledged event is never lost. Events of other types, and frames
///   that cannot be read, are acknowledged at once so that the platform does not push them
///   again and again.
/// - There is no session to resume: after a drop, the platform pushes again what was not
///   acknowledged, and dedup drops what was.

#include "botgate/core/gateway.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"
#include "botgate/platforms/feishu/longconn_fragments.hpp"
#include "botgate/platforms/feishu/longconn_frame.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::feishu {

/// The timers the platform sets, in its ClientConfig (the endpoint's answer, and each pong's
/// payload). Defaults are the SDKs'.
struct LongconnClientConfig {
  std::chrono::milliseconds ping_interval{120'000};
  std::chrono::milliseconds reconnect_interval{120'000};
  /// The first reconnect waits a random time below this, so that many clients dropped at once
  /// do not all come back in the same second.
  std::chrono::milliseconds reconnect_nonce{30'000};
};

/// Takes the PingInterval, ReconnectInterval and ReconnectNonce (seconds) that `json` (a
/// ClientConfig object) has into `config`; absent or unusable values leave it as it is.
/// False when `json` is not a JSON object.
bool apply_client_config(std::string_view json, LongconnClientConfig& config);
/// The same, from the object already parsed (the endpoint's answer).
void apply_client_config(const boost::json::object& json, LongconnClientConfig& config);

/// What the endpoint learnt for the next connection, read by the protocol when it opens.
/// Both run on the bot's strand.
struct LongconnSession {
  /// The URL's service_id: every ping carries it.
  std::int32_t service_id = 0;
  LongconnClientConfig client;
};

class LongconnProtocol final : public GatewayProtocol {
 public:
  using Clock = std::chrono::steady_clock;

  /// `unit_random`: a number in [0, 1) for the reconnect delay; `now`: the fragments' clock.
  LongconnProtocol(FeishuConfig config, std::shared_ptr<const BotIdentity> identity,
                   std::shared_ptr<LongconnSession> session,
                   std::function<double()> unit_random,
                   std::function<Clock::time_point()> now = Clock::now);

  void restore(GatewaySession) override {}
  GatewaySession session() const override { return {}; }
  std::vector<GatewayAction> on_connected(std::string credential) override;
  std::vector<GatewayAction> on_frame(std::string_view frame) override;
  std::vector<GatewayAction> on_heartbeat_due() override;
  std::vector<GatewayAction> on_closed(int close_code) override;

 private:
  std::vector<GatewayAction> on_control(const LongconnFrame& frame);
  std::vector<GatewayAction> on_event(const LongconnFrame& frame);
  /// The event's payload, whole: an Event to make durable before the acknowledgement, or an
  /// acknowledgement at once.
  std::vector<GatewayAction> on_whole_event(const LongconnFrame& frame, std::string_view payload);
  /// `frame` sent back as its acknowledgement.
  static std::string ack_of(const LongconnFrame& frame);
  std::string ping() const;
  Reconnect reconnect(std::string reason) const;

  FeishuConfig config_;
  std::shared_ptr<const BotIdentity> identity_;
  std::shared_ptr<LongconnSession> session_;
  std::function<double()> unit_random_;
  std::function<Clock::time_point()> now_;

  // The current connection's state.
  bool open_ = false;
  bool awaiting_pong_ = false;
  bool live_ = false;  // a pong came: the connection works both ways
  FragmentAssembler fragments_;
};

}  // namespace botgate::feishu
