#pragma once
/// The WeCom AI bot's long connection (智能机器人长连接, longconn-and-streaming notes 2.1) as a
/// GatewayProtocol, on the runner that drives the other gateways:
///
/// - `aibot_subscribe {bot_id, secret}` first; its answer makes the connection live (errcode
///   0), stops the bot for good (853000: the BotID or Secret is wrong, and retrying cannot fix
///   it), or replaces the connection (anything else).
/// - A `ping` every 30 s (config.ping_interval); two left unanswered (or refused) when the
///   next is due replace the connection, as the official SDK does.
/// - `aibot_msg_callback`: read exactly as the webhook reads a message (read_aibot_message),
///   with the callback's req_id as the reply credential: replies go back with it.
/// - `aibot_event_callback` with `disconnected_event`: another connection subscribed with
///   this BotID and the platform moved the bot there; this one gets nothing more. The bot
///   stops for good with the reason (see the .cpp for why not a reconnect). Other events
///   (enter_chat, card clicks, feedback) are not read.
/// - Answers to our own requests (no `cmd`) go to the AibotLink, whose waiters they end.
/// - Nothing to resume: a message pushed while no connection was up is lost on the platform's
///   side, and dedup drops what comes twice.

#include "botgate/core/gateway.hpp"
#include "botgate/platforms/wecom/aibot_link.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::wecom {

/// errcode of aibot_subscribe for a BotID and Secret the platform does not know.
inline constexpr std::int64_t kAibotBadCredentials = 853000;
/// Pings unanswered when the next is due that end the connection.
inline constexpr int kAibotMaxMissedPings = 2;

class AibotLongconnProtocol final : public GatewayProtocol {
 public:
  /// Pings every config.ping_interval.
  AibotLongconnProtocol(WecomConfig config, std::shared_ptr<AibotLink> link);

  void restore(GatewaySession) override {}
  GatewaySession session() const override { return {}; }
  std::vector<GatewayAction> on_connected(std::string credential) override;
  std::vector<GatewayAction> on_frame(std::string_view frame) override;
  std::vector<GatewayAction> on_heartbeat_due() override;
  std::vector<GatewayAction> on_closed(int close_code) override;

 private:
  std::vector<GatewayAction> on_answer(const std::string& req_id, AibotAnswer answer);
  std::vector<GatewayAction> end(GatewayAction action);

  WecomConfig config_;
  std::shared_ptr<AibotLink> link_;

  // The current connection's state.
  bool open_ = false;
  bool subscribed_ = false;
  std::string subscribe_req_id_;
  int missed_pings_ = 0;
};

}  // namespace botgate::wecom
