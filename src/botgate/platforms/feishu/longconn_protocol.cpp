#include "botgate/platforms/feishu/longconn_protocol.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/feishu/feishu_events.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

using platforms::int_at;
using platforms::parse_object;

/// A ClientConfig time in seconds as milliseconds, when it is a usable one: at least a second
/// (a zero interval would ping without pause), at most a day.
std::optional<std::chrono::milliseconds> seconds_at(const json::object& o, std::string_view key) {
  const auto value = int_at(o, key);
  if (!value || *value < 1 || *value > 86'400) return std::nullopt;
  return std::chrono::seconds(*value);
}

std::int64_t header_number(const LongconnFrame& frame, std::string_view key,
                           std::int64_t fallback) {
  const std::string_view text = frame.header(key);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return fallback;
  return value;
}

std::string seconds_text(std::chrono::milliseconds duration) {
  return std::to_string(duration.count() / 1000) + " s";
}

}  // namespace

void apply_client_config(const boost::json::object& object, LongconnClientConfig& config) {
  if (auto v = seconds_at(object, "PingInterval")) config.ping_interval = *v;
  if (auto v = seconds_at(object, "ReconnectInterval")) config.reconnect_interval = *v;
  if (const auto nonce = int_at(object, "ReconnectNonce"); nonce && *nonce >= 0 &&
                                                           *nonce <= 86'400) {
    config.reconnect_nonce = std::chrono::seconds(*nonce);
  }
}

bool apply_client_config(std::string_view text, LongconnClientConfig& config) {
  const auto object = parse_object(text);
  if (!object) return false;
  apply_client_config(*object, config);
  return true;
}

LongconnProtocol::LongconnProtocol(FeishuConfig config, std::shared_ptr<const BotIdentity> identity,
                                   std::shared_ptr<LongconnSession> session,
                                   std::function<double()> unit_random,
                                   std::function<Clock::time_point()> now)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      session_(std::move(session)),
      unit_random_(std::move(unit_random)),
      now_(std::move(now)) {}

std::vector<GatewayAction> LongconnProtocol::on_connected(std::string) {
  open_ = true;
  awaiting_pong_ = false;
  live_ = false;
  fragments_ = FragmentAssembler();  // the platform pushes an unfinished event again, whole
  // The first ping at once: its pong proves the connection and brings the current timers.
  const auto interval = session_->client.ping_interval;
  return {StartHeartbeat{interval, std::chrono::milliseconds(0)}};
}

std::vector<GatewayAction> LongconnProtocol::on_heartbeat_due() {
  if (!open_) return {};
  if (awaiting_pong_) {
    open_ = false;
    return {reconnect("no pong to the last ping within " +
                      seconds_text(session_->client.ping_interval) +
                      ": the connection is dead")};
  }
  awaiting_pong_ = true;
  return {SendBinary{ping()}};
}

std::vector<GatewayAction> LongconnProtocol::on_closed(int close_code) {
  if (!open_) return {};
  open_ = false;
  return {reconnect(close_code == kNoCloseCode
                        ? std::string("the connection dropped")
                        : "the platform closed the connection (code " +
                              std::to_string(close_code) + ")")};
}

std::vector<GatewayAction> LongconnProtocol::on_frame(std::string_view bytes) {
  if (!open_) return {};
  const auto frame = decode_frame(bytes);
  if (!frame) return {SkipFrame{"not a long-connection frame"}};
  if (frame->method == kControlFrame) return on_control(*frame);
  if (frame->method == kDataFrame) return on_event(*frame);
  return {SkipFrame{"a frame with method " + std::to_string(frame->method)}};
}

std::vector<GatewayAction> LongconnProtocol::on_control(const LongconnFrame& frame) {
  if (frame.header("type") != "pong") return {};
  awaiting_pong_ = false;
  std::vector<GatewayAction> actions;
  if (frame.payload && !frame.payload->empty()) {
    const auto before = session_->client.ping_interval;
    if (!apply_client_config(*frame.payload, session_->client)) {
      actions.emplace_back(SkipFrame{"a pong whose ClientConfig is not a JSON object"});
    } else if (session_->client.ping_interval != before) {
      const auto interval = session_->client.ping_interval;
      actions.emplace_back(StartHeartbeat{interval, interval});
    }
  }
  if (!live_) {
    // The connection works both ways: the runner counts it as connected (and resets its
    // backoff). There is no session to keep.
    live_ = true;
    actions.emplace_back(SaveSession{GatewaySession{}});
  }
  return actions;
}

std::vector<GatewayAction> LongconnProtocol::on_event(const LongconnFrame& frame) {
  const std::string_view type = frame.header("type");
  // Card callbacks need an answer in the acknowledgement that botgate does not give; like the
  // SDKs, it leaves them (the platform shows the user that the card did not answer).
  if (type != "event") return {};
  const std::string_view message_id = frame.header("message_id");
  const std::int64_t sum = header_number(frame, "sum", 1);
  const std::int64_t seq = header_number(frame, "seq", 0);
  const std::string_view payload = frame.payload ? std::string_view(*frame.payload) : "";
  if (sum == 1 && seq == 0) return on_whole_event(frame, payload);
  auto added = fragments_.add(message_id, sum, seq, payload, now_());
  switch (added.outcome) {
    case FragmentAssembler::Outcome::complete:
      return on_whole_event(frame, added.payload);
    case FragmentAssembler::Outcome::incomplete:
      return {};
    case FragmentAssembler::Outcome::rejected:
      break;
  }
  return {SkipFrame{"an event fragment " + added.reason}};
}

std::vector<GatewayAction> LongconnProtocol::on_whole_event(const LongconnFrame& frame,
                                                            std::string_view payload) {
  const auto object = parse_object(payload);
  if (!object) {
    return {SkipFrame{"an event that is not a JSON object"}, SendBinary{ack_of(frame)}};
  }
  auto event = message_event(*object, config_, identity_.get());
  if (!event) {
    return {SkipFrame{"an event that cannot be read: " + event.error().message()},
            SendBinary{ack_of(frame)}};
  }
  if (!*event) return {SendBinary{ack_of(frame)}};
  return {EmitEvent{std::move(**event)}, AckWhenDurable{ack_of(frame)}};
}

std::string LongconnProtocol::ack_of(const LongconnFrame& frame) {
  LongconnFrame ack = frame;
  // biz_rt: the time the client took; the acknowledgement is built as the event arrives and
  // sent once it is durable, so the store's commit is what the platform waits for.
  ack.headers.emplace_back("biz_rt", "0");
  ack.payload = R"({"code":200})";
  return encode_frame(ack);
}

std::string LongconnProtocol::ping() const {
  LongconnFrame frame;
  frame.service = session_->service_id;
  frame.method = kControlFrame;
  frame.headers.emplace_back("type", "ping");
  return encode_frame(frame);
}

Reconnect LongconnProtocol::reconnect(std::string reason) const {
  Reconnect r;
  r.resume = false;
  r.reason = std::move(reason);
  const double unit = std::clamp(unit_random_ ? unit_random_() : 0.0, 0.0, 1.0);
  r.delay = std::chrono::milliseconds(static_cast<std::int64_t>(
      unit * static_cast<double>(session_->client.reconnect_nonce.count())));
  return r;
}

}  // namespace botgate::feishu
