#include "botgate/platforms/qq/qq_gateway_protocol.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/qq/qq_events.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <random>
#include <utility>

namespace botgate::qq {
namespace json = boost::json;
using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

namespace {

// QQ notes 4.1 (bot-docs `opcode.md`).
namespace op {
constexpr std::int64_t dispatch = 0;
constexpr std::int64_t heartbeat = 1;
constexpr std::int64_t identify = 2;
constexpr std::int64_t resume = 6;
constexpr std::int64_t reconnect = 7;
constexpr std::int64_t invalid_session = 9;
constexpr std::int64_t hello = 10;
constexpr std::int64_t heartbeat_ack = 11;
}  // namespace op

/// Close code "authentication failed" (notes 4.3): the access token was refused.
constexpr int kAuthenticationFailed = 4004;

/// What a close code asks for (QQ notes 4.3).
enum class CloseClass { resume, identify, fatal };

CloseClass classify_close(int code) {
  switch (code) {
    // Notes 4.3: 4008 (sending too fast) and 4009 (connection expired) keep the session; 4009 is
    // the official "resume" example and satori keeps the session for both.
    case 4008:
    case 4009:
      return CloseClass::resume;
    // Notes 4.3, "no" to both resume and identify: a shard or intent setting the bot may not use
    // (4010 invalid shard, 4011 too many guilds for one shard, 4013 invalid intent, 4014 intent
    // not permitted), a gateway version we do not choose (4012), a bot taken offline (4914) or
    // banned (4915; "stop and contact Tencent"). Reconnecting would fail the same way.
    case 4010:
    case 4011:
    case 4012:
    case 4013:
    case 4014:
    case 4914:
    case 4915:
      return CloseClass::fatal;
    default:
      break;
  }
  // Every other 4xxx is the official simplified rule's "anything else -> new identify", with the
  // session dropped as satori does: 4003 not authenticated; 4004 authentication failed, which for
  // QQ is usually an access token that expired (they last ~2 h, notes 2.1) and is what botpy and
  // botgo answer by refreshing the token and identifying again (the Reconnect says the
  // credential was rejected, so the runner has the token cache fetch a new one rather than hand
  // out the cached one again, and it backs off if it keeps failing); 4005 already
  // authenticated; 4006 session id invalid; 4007 invalid seq; 4900-4913 internal errors; 4001
  // invalid opcode and 4002 invalid payload (the table says neither resume nor identify, but a
  // one-off bad frame must not stop the bot for good: a fresh session is the safe answer).
  if (code >= 4000 && code <= 4999) {
    return CloseClass::identify;
  }
  // 1000/1001/1006 and a connection lost without a close frame: the network or a proxy ended the
  // connection, not the session.
  return CloseClass::resume;
}

}  // namespace

/// One received payload: `{"id":…,"op":…,"d":…,"s":…,"t":…}` (notes 4.1).
struct QqGatewayProtocol::Payload {
  std::int64_t opcode = -1;
  json::value data;
  std::optional<std::int64_t> sequence;
  std::string type;
  std::string id;
};

QqGatewayProtocol::QqGatewayProtocol(QqGatewayOptions options) : options_(std::move(options)) {
  if (!options_.unit_random) {
    options_.unit_random = [engine = std::mt19937(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

void QqGatewayProtocol::restore(GatewaySession session) {
  // QQ has no resume URL (notes 4.2): every connection goes to the main gateway URL.
  session.resume_url.clear();
  session_ = std::move(session);
}

GatewaySession QqGatewayProtocol::session() const { return session_; }

std::vector<GatewayAction> QqGatewayProtocol::on_connected(std::string credential) {
  credential_ = std::move(credential);
  connection_over_ = false;
  awaiting_ack_ = false;
  return {};  // QQ speaks first: Hello (notes 4.2 step 2)
}

std::vector<GatewayAction> QqGatewayProtocol::on_frame(std::string_view frame) {
  if (connection_over_) {
    return {};
  }
  auto object = parse_object(frame);
  const auto opcode = object ? int_at(*object, "op") : std::nullopt;
  if (!opcode) {
    // Skipped, not resumed: a resume replays from the last sequence, this frame included, so
    // the connection would come back to it forever. A sequence number it carries is taken.
    if (const auto sequence = object ? int_at(*object, "s") : std::nullopt;
        sequence && *sequence > session_.sequence) {
      session_.sequence = *sequence;
    }
    return {SkipFrame{object ? "gateway frame without an op" : "gateway frame is not a JSON object"}};
  }
  Payload payload;
  payload.opcode = *opcode;
  if (auto* d = object->if_contains("d")) {
    payload.data = std::move(*d);  // same storage: the event's tree is handed over, not copied
  }
  payload.sequence = int_at(*object, "s");
  payload.type = string_at(*object, "t");
  payload.id = string_at(*object, "id");

  switch (payload.opcode) {
    case op::hello:
      return on_hello(payload);
    case op::dispatch:
      return on_dispatch(payload);
    case op::heartbeat:
      // Notes 4.1: op 1 may be received; answer at once, as Discord asks. It does not change the
      // ACK bookkeeping of the timer's beats.
      return {SendFrame{heartbeat_frame()}};
    case op::heartbeat_ack:
      awaiting_ack_ = false;
      return {};
    case op::reconnect:
      // Notes 4.3: "op 7 -> reconnect + resume".
      return end_connection(resume_action("QQ asked to reconnect (op 7)"));
    case op::invalid_session:
      return on_invalid_session(payload.data.is_bool() && payload.data.get_bool());
    default:
      return {};
  }
}

std::vector<GatewayAction> QqGatewayProtocol::on_hello(const Payload& payload) {
  const auto* d = payload.data.if_object();
  const auto interval = d != nullptr ? int_at(*d, "heartbeat_interval") : std::nullopt;
  if (!interval || *interval <= 0) {
    return end_connection(resume_action("Hello without a heartbeat_interval"));
  }
  // Pitfall 9: use Hello's interval (botpy's fixed 30 s beat loses sessions). The first beat is
  // jittered so that many bots reconnecting at once do not beat in step.
  const std::chrono::milliseconds every(*interval);
  const auto first = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(*interval) * unit_random()));
  std::vector<GatewayAction> actions;
  actions.emplace_back(StartHeartbeat{every, first});
  actions.emplace_back(SendFrame{session_.resumable() ? resume_frame() : identify_frame()});
  return actions;
}

std::vector<GatewayAction> QqGatewayProtocol::on_dispatch(const Payload& payload) {
  // Notes 4.2 step 6: track `s` of every dispatch, only when s > 0.
  if (payload.sequence && *payload.sequence > 0) {
    session_.sequence = *payload.sequence;
  }
  const auto* d = payload.data.if_object();
  if (payload.type == "READY" && d != nullptr) {
    session_.session_id = string_at(*d, "session_id");
    if (const auto* user = object_at(*d, "user")) {
      session_.user_id = string_at(*user, "id");
    }
    return {SaveSession{session_}};
  }
  if (payload.type == "RESUMED") {  // its `d` is "" (notes 4.2)
    return {SaveSession{session_}};
  }
  if (d == nullptr) {
    return {};
  }
  auto event =
      qq_event_from_dispatch(payload.type, *d, payload.id, options_.bot_name, session_.user_id);
  if (!event) {
    return {};
  }
  return {EmitEvent{std::move(*event)}};
}

std::vector<GatewayAction> QqGatewayProtocol::on_invalid_session(bool resumable) {
  if (resumable && session_.resumable()) {
    return end_connection(resume_action("QQ invalidated the session, resumable (op 9)"));
  }
  // Notes 4.3: "op 9 -> drop session_id/seq, identify anew" (botpy, nonebot). QQ documents no
  // wait; like Discord we wait a random 1-5 s so that a bad identify does not loop at full speed.
  const auto delay =
      std::chrono::milliseconds(1000 + static_cast<std::int64_t>(4000.0 * unit_random()));
  return end_connection(identify_action("QQ invalidated the session (op 9)", delay));
}

std::vector<GatewayAction> QqGatewayProtocol::on_heartbeat_due() {
  if (connection_over_) {
    return {};
  }
  if (awaiting_ack_) {
    // Notes 4.2 step 5: a missing op 11 before the next beat is a dead connection: resume.
    return end_connection(resume_action("heartbeat not acknowledged (zombie connection)"));
  }
  awaiting_ack_ = true;
  return {SendFrame{heartbeat_frame()}};
}

std::vector<GatewayAction> QqGatewayProtocol::on_closed(int close_code) {
  if (connection_over_) {
    return {};
  }
  const std::string code = "close code " + std::to_string(close_code);
  switch (classify_close(close_code)) {
    case CloseClass::fatal:
      return end_connection(Fatal{fatal_reason(close_code)});
    case CloseClass::identify: {
      Reconnect reconnect =
          identify_action("QQ ended the session (" + code + ")", std::chrono::milliseconds(0));
      // 4004 authentication failed: the access token was refused (revoked or expired early).
      // Identifying again with it would be refused again; the runner gets a new one first.
      reconnect.credential_rejected = close_code == kAuthenticationFailed;
      return end_connection(std::move(reconnect));
    }
    case CloseClass::resume:
      break;
  }
  if (close_code == kNoCloseCode) {
    return end_connection(resume_action("connection lost without a close frame"));
  }
  return end_connection(resume_action("QQ closed the connection (" + code + ")"));
}

std::vector<GatewayAction> QqGatewayProtocol::end_connection(GatewayAction action) {
  connection_over_ = true;
  awaiting_ack_ = false;
  std::vector<GatewayAction> actions;
  actions.push_back(std::move(action));
  return actions;
}

Reconnect QqGatewayProtocol::resume_action(std::string reason) const {
  Reconnect r;
  // Without a session there is nothing to resume: the next Hello identifies.
  r.resume = session_.resumable();
  r.reason = std::move(reason);
  return r;
}

Reconnect QqGatewayProtocol::identify_action(std::string reason,
                                             std::chrono::milliseconds delay) {
  session_.session_id.clear();
  session_.resume_url.clear();
  session_.sequence = 0;
  Reconnect r;
  r.resume = false;
  r.reason = std::move(reason);
  r.delay = delay;
  return r;
}

std::string QqGatewayProtocol::heartbeat_frame() const {
  // Notes 4.1: `d` = last received `s`, or null before the first dispatch.
  json::object frame{{"op", op::heartbeat}, {"d", nullptr}};
  if (session_.sequence > 0) {
    frame["d"] = session_.sequence;
  }
  return json::serialize(frame);
}

std::string QqGatewayProtocol::identify_frame() const {
  // Notes 4.2 step 3; `properties` "has no effect", so it is sent empty.
  json::object d{{"token", credential_},
                 {"intents", options_.intents},
                 {"shard", json::array{options_.shard_id, options_.shard_count}},
                 {"properties", json::object()}};
  json::object frame{{"op", op::identify}, {"d", std::move(d)}};
  return json::serialize(frame);
}

std::string QqGatewayProtocol::resume_frame() const {
  // Notes 4.2: the token keeps its "QQBot " prefix on resume too (botpy, nonebot).
  json::object d{
      {"token", credential_}, {"session_id", session_.session_id}, {"seq", session_.sequence}};
  json::object frame{{"op", op::resume}, {"d", std::move(d)}};
  return json::serialize(frame);
}

std::string QqGatewayProtocol::fatal_reason(int close_code) const {
  constexpr std::string_view kConsole = "the QQ bot console (https://q.qq.com)";
  std::string reason =
      "QQ refused the gateway connection (close code " + std::to_string(close_code) + "): ";
  switch (close_code) {
    case 4010:
      return reason + "invalid shard. Check `shards` and `shard_count`: every shard id must be " +
             "below shard_count (this connection used [" + std::to_string(options_.shard_id) +
             ", " + std::to_string(options_.shard_count) + "]).";
    case 4011:
      return reason + "too many guilds for one connection: raise `shard_count` (GET " +
             "/gateway/bot says how many shards QQ recommends).";
    case 4012:
      return reason + "invalid gateway version. This is a botgate bug.";
    case 4914:
      return reason + "the bot has been taken offline (sandbox only). Check its status in " +
             std::string(kConsole) + ".";
    case 4915:
      return reason + "the bot is banned. Check " + std::string(kConsole) +
             " and contact Tencent.";
    default: {
      std::string asked;
      for (const std::string& name : qq_intent_names(options_.intents)) {
        asked += (asked.empty() ? "" : ", ") + name;
      }
      const std::string what =
          close_code == 4013 ? "invalid intents" : "intents the bot is not permitted to use";
      return reason + what + ". The bot asked for: " + (asked.empty() ? "none" : asked) +
             ". Remove from `intents` those that " + std::string(kConsole) +
             " has not granted (guilds, guild_members and public_guild_messages are allowed to "
             "every bot; the others need approval).";
    }
  }
}

double QqGatewayProtocol::unit_random() { return options_.unit_random(); }

}  // namespace botgate::qq
