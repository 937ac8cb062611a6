#include "botgate/platforms/common/gateway_dialect.hpp"

#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <random>
#include <utility>

namespace botgate::platforms {
namespace json = boost::json;

namespace {

// The same numbers on both platforms: QQ notes 4.1 (bot-docs `opcode.md`) and Discord's
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes
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

}  // namespace

/// One received payload: `{"id":…,"op":…,"d":…,"s":…,"t":…}` (`id` is QQ's).
struct GatewayDialect::Payload {
  std::int64_t opcode = -1;
  json::value data;
  std::optional<std::int64_t> sequence;
  std::string type;
  std::string id;
};

GatewayDialect::GatewayDialect(GatewayDialectOptions options,
                               std::unique_ptr<GatewayDialectHooks> hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {
  if (!options_.unit_random) {
    options_.unit_random = [engine = std::mt19937(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  session_.user_id = options_.bot_user_id;
}

GatewayDialect::~GatewayDialect() = default;

void GatewayDialect::restore(GatewaySession session) {
  session_ = std::move(session);
  if (!options_.resume_url_in_ready) {
    session_.resume_url.clear();  // QQ notes 4.2: every connection goes to the main URL
  }
  if (session_.user_id.empty()) {
    session_.user_id = options_.bot_user_id;
  }
}

GatewaySession GatewayDialect::session() const { return session_; }

std::vector<GatewayAction> GatewayDialect::on_connected(std::string credential) {
  credential_ = std::move(credential);
  connection_over_ = false;
  awaiting_ack_ = false;
  return {};  // the server speaks first: Hello
}

std::vector<GatewayAction> GatewayDialect::on_frame(std::string_view frame) {
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
    return {
        SkipFrame{object ? "gateway frame without an op" : "gateway frame is not a JSON object"}};
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
      // "If Discord sends you {"op":1} send a beat immediately" (Discord notes 3.1 step 4; QQ
      // notes 4.1: op 1 may be received). It does not change the ACK bookkeeping of the timer's
      // beats.
      return {SendFrame{heartbeat_frame()}};
    case op::heartbeat_ack:
      awaiting_ack_ = false;
      return {};
    case op::reconnect:
      // QQ notes 4.3: "op 7 -> reconnect + resume".
      return end_connection(resume_action(options_.platform_label + " asked to reconnect (op 7)"));
    case op::invalid_session:
      return on_invalid_session(payload.data.is_bool() && payload.data.get_bool());
    default:
      return {};
  }
}

std::vector<GatewayAction> GatewayDialect::on_hello(const Payload& payload) {
  const auto* d = payload.data.if_object();
  const auto interval = d != nullptr ? int_at(*d, "heartbeat_interval") : std::nullopt;
  if (!interval || *interval <= 0) {
    return end_connection(resume_action("Hello without a heartbeat_interval"));
  }
  // Use Hello's interval (QQ pitfall 9: botpy's fixed 30 s beat loses sessions). The first beat
  // is jittered so that many bots reconnecting at once do not beat in step.
  const std::chrono::milliseconds every(*interval);
  const auto first = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(*interval) * options_.unit_random()));
  std::vector<GatewayAction> actions;
  actions.emplace_back(StartHeartbeat{every, first});
  actions.emplace_back(SendFrame{session_.resumable() ? resume_frame() : identify_frame()});
  return actions;
}

std::vector<GatewayAction> GatewayDialect::on_dispatch(const Payload& payload) {
  // Keep the last `s` of every dispatch, only when s > 0 (Discord notes 3.1, QQ notes 4.2 step
  // 6); it goes into heartbeats and resume.
  if (payload.sequence && *payload.sequence > 0) {
    session_.sequence = *payload.sequence;
  }
  const auto* d = payload.data.if_object();
  if (payload.type == "READY" && d != nullptr) {
    session_.session_id = string_at(*d, "session_id");
    if (options_.resume_url_in_ready) {
      session_.resume_url = string_at(*d, "resume_gateway_url");
    }
    if (const auto* user = object_at(*d, "user")) {
      session_.user_id = string_at(*user, "id");
    }
    return {SaveSession{session_}};
  }
  if (payload.type == "RESUMED") {  // QQ's `d` is "" (notes 4.2)
    return {SaveSession{session_}};
  }
  if (d == nullptr) {
    return {};
  }
  const GatewayDispatch dispatch{payload.type, *d, payload.id, session_.user_id};
  auto event = hooks_->event_from_dispatch(dispatch);
  if (!event) {
    return {};
  }
  return {EmitEvent{std::move(*event)}};
}

std::vector<GatewayAction> GatewayDialect::on_invalid_session(bool resumable) {
  if (resumable && session_.resumable()) {
    return end_connection(
        resume_action(options_.platform_label + " invalidated the session, resumable (op 9)"));
  }
  // The session is gone: wait a random 1-5 s, then identify on the main URL (Discord notes 3.3).
  // QQ documents no wait ("op 9 -> drop session_id/seq, identify anew", notes 4.3); the same
  // wait keeps a bad identify from looping at full speed.
  const auto delay =
      std::chrono::milliseconds(1000 + static_cast<std::int64_t>(4000.0 * options_.unit_random()));
  return end_connection(
      identify_action(options_.platform_label + " invalidated the session (op 9)", delay));
}

std::vector<GatewayAction> GatewayDialect::on_heartbeat_due() {
  if (connection_over_) {
    return {};
  }
  if (awaiting_ack_) {
    // No ACK since the previous beat means a zombie connection: close and resume (Discord notes
    // 3.1, QQ notes 4.2 step 5).
    return end_connection(resume_action("heartbeat not acknowledged (zombie connection)"));
  }
  awaiting_ack_ = true;
  return {SendFrame{heartbeat_frame()}};
}

std::vector<GatewayAction> GatewayDialect::on_closed(int close_code) {
  if (connection_over_) {
    return {};
  }
  // The network or a proxy ended the connection, not the session.
  if (close_code == kNoCloseCode) {
    return end_connection(resume_action("connection lost without a close frame"));
  }
  const std::string code = "close code " + std::to_string(close_code);
  const CloseVerdict verdict = hooks_->close_verdict(close_code);
  switch (verdict) {
    case CloseVerdict::fatal:
      return end_connection(Fatal{hooks_->fatal_reason(close_code)});
    case CloseVerdict::identify:
    case CloseVerdict::identify_with_new_credential: {
      Reconnect reconnect =
          identify_action(options_.platform_label + " ended the session (" + code + ")",
                          std::chrono::milliseconds(0));
      // Identifying again with a refused credential would be refused again.
      reconnect.credential_rejected = verdict == CloseVerdict::identify_with_new_credential;
      return end_connection(std::move(reconnect));
    }
    case CloseVerdict::resume:
      break;
  }
  return end_connection(
      resume_action(options_.platform_label + " closed the connection (" + code + ")"));
}

std::vector<GatewayAction> GatewayDialect::end_connection(GatewayAction action) {
  connection_over_ = true;
  awaiting_ack_ = false;
  std::vector<GatewayAction> actions;
  actions.push_back(std::move(action));
  return actions;
}

Reconnect GatewayDialect::resume_action(std::string reason) const {
  Reconnect r;
  // Without a session there is nothing to resume: the next Hello identifies.
  r.resume = session_.resumable();
  r.reason = std::move(reason);
  // Discord notes 3.3: resume on resume_gateway_url (always empty on QQ).
  r.url = r.resume ? session_.resume_url : std::string();
  return r;
}

Reconnect GatewayDialect::identify_action(std::string reason, std::chrono::milliseconds delay) {
  session_.session_id.clear();
  session_.resume_url.clear();
  session_.sequence = 0;
  Reconnect r;
  r.resume = false;
  r.reason = std::move(reason);
  r.delay = delay;
  return r;
}

std::string GatewayDialect::heartbeat_frame() const {
  // `d` = the last sequence received, or null before the first dispatch.
  json::object frame{{"op", op::heartbeat}, {"d", nullptr}};
  if (session_.sequence > 0) {
    frame["d"] = session_.sequence;
  }
  return json::serialize(frame);
}

std::string GatewayDialect::identify_frame() const {
  json::object frame{{"op", op::identify}, {"d", hooks_->identify_data(credential_)}};
  return json::serialize(frame);
}

std::string GatewayDialect::resume_frame() const {
  // The credential as identify carries it: QQ's token keeps its "QQBot " prefix on resume too
  // (QQ notes 4.2; botpy, nonebot).
  json::object d{
      {"token", credential_}, {"session_id", session_.session_id}, {"seq", session_.sequence}};
  json::object frame{{"op", op::resume}, {"d", std::move(d)}};
  return json::serialize(frame);
}

}  // namespace botgate::platforms
