#include "botgate/platforms/wecom/aibot_longconn_protocol.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/wecom/wecom_webhook.hpp"

#include <boost/json.hpp>

namespace botgate::wecom {
namespace json = boost::json;
namespace {

using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

constexpr std::string_view kSubscribe = "aibot_subscribe";
constexpr std::string_view kPing = "ping";
constexpr std::string_view kMsgCallback = "aibot_msg_callback";
constexpr std::string_view kEventCallback = "aibot_event_callback";
constexpr std::string_view kDisconnected = "disconnected_event";

}  // namespace

AibotLongconnProtocol::AibotLongconnProtocol(WecomConfig config, std::shared_ptr<AibotLink> link)
    : config_(std::move(config)), link_(std::move(link)) {}

std::vector<GatewayAction> AibotLongconnProtocol::end(GatewayAction action) {
  open_ = false;
  subscribed_ = false;
  link_->connection_lost();
  std::vector<GatewayAction> actions;
  actions.push_back(std::move(action));
  return actions;
}

std::vector<GatewayAction> AibotLongconnProtocol::on_connected(std::string) {
  // Requests of an earlier connection get no answer on this one.
  link_->connection_lost();
  open_ = true;
  subscribed_ = false;
  missed_pings_ = 0;
  subscribe_req_id_ = link_->next_req_id(kSubscribe);
  const json::object body{{"bot_id", config_.bot_id}, {"secret", config_.secret}};
  std::vector<GatewayAction> actions;
  actions.emplace_back(SendFrame{AibotLink::frame(kSubscribe, subscribe_req_id_, body)});
  actions.emplace_back(StartHeartbeat{config_.ping_interval, config_.ping_interval});
  return actions;
}

std::vector<GatewayAction> AibotLongconnProtocol::on_frame(std::string_view text) {
  if (!open_) return {};
  const auto frame = parse_object(text);
  if (!frame) return {SkipFrame{"not a JSON object"}};
  const json::object* headers = object_at(*frame, "headers");
  const std::string req_id = headers ? string_at(*headers, "req_id") : std::string();
  const std::string cmd = string_at(*frame, "cmd");
  if (cmd.empty()) {
    if (req_id.empty()) return {SkipFrame{"an answer without headers.req_id"}};
    const auto errcode = int_at(*frame, "errcode");
    // An answer without errcode is not a success: taken as the platform's generic failure.
    return on_answer(req_id, AibotAnswer{errcode.value_or(-1), string_at(*frame, "errmsg")});
  }
  const json::object* body = object_at(*frame, "body");
  if (cmd == kMsgCallback) {
    if (!body || req_id.empty()) return {SkipFrame{"a message callback without body or req_id"}};
    auto event = read_aibot_message(*body, config_);
    if (!event) return {SkipFrame{event.error().message()}};
    if (!*event) return {};  // a message type botgate does not read
    // Replies go back over the connection as answers to this callback.
    link_->note_callback(req_id);
    (*event)->reply_credential = req_id;
    return {EmitEvent{std::move(**event)}};
  }
  if (cmd == kEventCallback) {
    const json::object* event = body ? object_at(*body, "event") : nullptr;
    if (event && string_at(*event, "eventtype") == kDisconnected) {
      // Another client subscribed with this BotID: the platform moved the bot there, and this
      // socket gets nothing more. Reconnecting would take the bot back and have the other client
      // do the same, each kicking the other for ever, and a second botgate (or a test
      // instance) with the same bot would then lose messages half of the time. Stopping says
      // what to fix; restarting the bot (or botgate) takes the bot back deliberately.
      return end(Fatal{"another client subscribed with this bot_id and took the long connection "
                       "over (disconnected_event): only one connection per AI bot is served; "
                       "stop the other client, then restart this bot"});
    }
    return {};  // enter_chat, card clicks, feedback: not read
  }
  return {SkipFrame{"unknown cmd"}};
}

std::vector<GatewayAction> AibotLongconnProtocol::on_answer(const std::string& req_id,
                                                            AibotAnswer answer) {
  if (req_id == subscribe_req_id_ && !subscribed_) {
    if (answer.errcode == 0) {
      subscribed_ = true;
      return {SaveSession{GatewaySession{}}};
    }
    const std::string why = "errcode " + std::to_string(answer.errcode) + ": " + answer.errmsg;
    if (answer.errcode == kAibotBadCredentials) {
      return end(Fatal{"the platform refused the bot_id or secret (" + why +
                       "): check both against the AI bot's BotID and Secret in the WeCom admin "
                       "console"});
    }
    Reconnect reconnect;
    reconnect.reason = "aibot_subscribe refused (" + why + ")";
    return end(std::move(reconnect));
  }
  if (req_id.starts_with(kPing) && req_id.size() > kPing.size() && req_id[kPing.size()] == '_') {
    // A refused ping counts as unanswered, as in the official SDK.
    if (answer.errcode == 0) missed_pings_ = 0;
    return {};
  }
  link_->complete(req_id, std::move(answer));
  return {};
}

std::vector<GatewayAction> AibotLongconnProtocol::on_heartbeat_due() {
  if (!open_) return {};
  if (!subscribed_) {
    Reconnect reconnect;
    reconnect.reason = "no answer to aibot_subscribe";
    return end(std::move(reconnect));
  }
  if (missed_pings_ >= kAibotMaxMissedPings) {
    Reconnect reconnect;
    reconnect.reason = std::to_string(missed_pings_) + " pings left unanswered";
    return end(std::move(reconnect));
  }
  ++missed_pings_;
  json::object root;
  root["cmd"] = kPing;
  root["headers"] = json::object{{"req_id", link_->next_req_id(kPing)}};
  return {SendFrame{json::serialize(root)}};
}

std::vector<GatewayAction> AibotLongconnProtocol::on_closed(int close_code) {
  if (!open_) return {};
  Reconnect reconnect;
  reconnect.reason = "the connection closed (code " + std::to_string(close_code) + ")";
  return end(std::move(reconnect));
}

}  // namespace botgate::wecom
