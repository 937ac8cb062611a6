#include "botgate/platforms/qq/qq_webhook.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/common/ed25519_request.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/qq/qq_events.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace botgate::qq {
namespace json = boost::json;
using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::single_header;
using platforms::string_at;

namespace {

constexpr std::size_t kSeedBytes = 32;

// Payload opcodes (notes 4.1, 3.3, 3.5).
namespace opcode {
constexpr std::int64_t dispatch = 0;
constexpr std::int64_t heartbeat = 1;
constexpr std::int64_t callback_validation = 13;
}  // namespace opcode

/// The dispatch types qq_event_from_dispatch turns into events: for these a nullopt means a
/// malformed `d`, not an uninteresting type.
constexpr std::array<std::string_view, 5> kMessageTypes{
    "AT_MESSAGE_CREATE", "MESSAGE_CREATE", "DIRECT_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE",
    "C2C_MESSAGE_CREATE"};

bool is_message_type(std::string_view type) {
  return std::find(kMessageTypes.begin(), kMessageTypes.end(), type) != kMessageTypes.end();
}

/// Notes 3.5: the Go SDK's answer to a handled dispatch (d = 1 would ask for a redelivery).
HttpResponse dispatch_ack() { return make_response(http::status::ok, R"({"op":12,"d":0})"); }

/// Notes 3.4: valid = Ed25519_Verify(public_key, timestamp || raw body, hex(signature)), the
/// timestamp in Unix seconds, with the Go reference's extra refusal of a non-canonical signature.
constexpr platforms::Ed25519RequestRules kSigningRules{.refuse_non_canonical = true,
                                                       .max_timestamp_digits = 20};

/// Notes 3.3: sign event_ts || plain_token (event_ts first, no separator) and return both.
Result<WebhookOutcome> answer_validation(const json::object& payload, const std::string& seed) {
  const auto* d = object_at(payload, "d");
  const std::string plain_token = d != nullptr ? string_at(*d, "plain_token") : std::string();
  const std::string event_ts = d != nullptr ? string_at(*d, "event_ts") : std::string();
  if (plain_token.empty() || event_ts.empty()) {
    return Error{errc::malformed_payload, "op 13 without d.plain_token or d.event_ts"};
  }
  const std::string signature = crypto::ed25519_sign(seed, event_ts + plain_token);
  // Exactly these two keys; serialising a JSON string keeps plain_token's value unchanged.
  json::object answer;
  answer["plain_token"] = plain_token;
  answer["signature"] = crypto::to_hex(signature);
  WebhookOutcome outcome;
  outcome.ack = make_response(http::status::ok, json::serialize(answer));
  return outcome;
}

/// Notes 3.5: botgo answers an HTTP heartbeat with {"op":11,"d":<seq>}; the platform may never
/// send one, but answering costs nothing.
WebhookOutcome answer_heartbeat(const json::object& payload) {
  json::object answer;
  answer["op"] = 11;
  const auto* d = payload.if_contains("d");
  answer["d"] = d != nullptr ? *d : json::value(nullptr);
  WebhookOutcome outcome;
  outcome.ack = make_response(http::status::ok, json::serialize(answer));
  return outcome;
}

}  // namespace

std::string qq_signing_seed(std::string_view app_secret) {
  if (app_secret.empty()) {
    throw std::invalid_argument("the QQ webhook needs an app_secret to derive its key");
  }
  // Cycling the secret equals the Go reference's doubling-then-truncating (notes 3.2 step 2);
  // satori's single padding is wrong for secrets under 16 characters.
  std::string seed;
  seed.reserve(kSeedBytes);
  while (seed.size() < kSeedBytes) {
    seed.append(app_secret.substr(0, kSeedBytes - seed.size()));
  }
  return seed;
}

QqWebhook::QqWebhook(const QqConfig& config,
                     std::function<std::chrono::system_clock::time_point()> now)
    : bot_name_(config.bot_name),
      app_id_(config.app_id),
      seed_(qq_signing_seed(config.app_secret)),
      public_key_(crypto::ed25519_public_key_from_seed(seed_)),
      now_(std::move(now)) {}

Result<WebhookOutcome> QqWebhook::handle(const HttpRequest& request) const {
  if (request.method() != http::verb::post) {
    return Error{errc::malformed_payload, "QQ callbacks arrive by POST"};
  }
  // X-Bot-Appid lets one URL serve several bots (notes 3.1); another bot's push is not ours.
  if (const std::string_view app_id = single_header(request, "X-Bot-Appid");
      !app_id.empty() && !app_id_.empty() && app_id != app_id_) {
    return Error{errc::bad_token, "the callback is for AppID " + std::string(app_id)};
  }
  // Verify first, for every op: nothing of an unsigned body is parsed. Op 13 is verified too:
  // notes 3.3 say the platform signs it and the official Go SDK checks it (satori and nonebot
  // skip the check, which is not needed for the validation to pass).
  auto verified = platforms::verify_ed25519_request(request, public_key_, kSigningRules);
  if (!verified) return verified.error();
  if (now_) {
    // Digits only, at most 20 of them: checked with the signature.
    const std::string timestamp(*verified);
    // 18 digits fit in 64 bits as seconds; a far date is stale, never an overflow.
    const auto signed_at =
        to_system_time(std::chrono::seconds(std::stoll(timestamp.substr(0, 18))));
    const auto skew = signed_at ? now_() - *signed_at : std::chrono::system_clock::duration::max();
    if (skew > kQqTimestampWindow || skew < -kQqTimestampWindow) {
      return Error{errc::stale_request,
                   "X-Signature-Timestamp " + timestamp + " is more than " +
                       std::to_string(kQqTimestampWindow.count()) + " s from this clock"};
    }
  }
  auto payload = parse_object(request.body());
  if (!payload) {
    return Error{errc::malformed_payload, "the callback is not a JSON object"};
  }
  const auto op = int_at(*payload, "op");
  if (!op) {
    return Error{errc::malformed_payload, "the callback has no op"};
  }
  switch (*op) {
    case opcode::callback_validation:
      return answer_validation(*payload, seed_);
    case opcode::heartbeat:
      return answer_heartbeat(*payload);
    case opcode::dispatch:
      break;
    default: {
      // Unknown ops: acknowledged so that QQ does not redeliver something botgate ignores.
      WebhookOutcome outcome;
      outcome.ack = dispatch_ack();
      return outcome;
    }
  }

  const std::string type = string_at(*payload, "t");
  if (type.empty()) {
    return Error{errc::malformed_payload, "a dispatch without t"};
  }
  static const json::object kEmpty;
  const json::object* d = object_at(*payload, "d");
  // Webhook pushes carry the event id at the top level (notes 3.5). The bot's own user id is
  // unknown without the gateway's READY: the parser strips a leading mention instead.
  auto event = qq_event_from_dispatch(type, d != nullptr ? *d : kEmpty,
                                      string_at(*payload, "id"), bot_name_, std::string());
  if (!event && is_message_type(type)) {
    return Error{errc::malformed_payload, "a " + type + " dispatch without its message fields"};
  }
  WebhookOutcome outcome;
  if (event) outcome.events.push_back(std::move(*event));
  outcome.ack = dispatch_ack();
  return outcome;
}

}  // namespace botgate::qq
