#include "botgate/platforms/qq/qq_gateway_protocol.hpp"

#include "botgate/platforms/qq/qq_events.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace botgate::qq {
namespace json = boost::json;

namespace {

/// Close code "authentication failed" (notes 4.3): the access token was refused.
constexpr int kAuthenticationFailed = 4004;

/// What a close code asks for (QQ notes 4.3).
platforms::CloseVerdict close_verdict_of(int code) {
  switch (code) {
    // Notes 4.3: 4008 (sending too fast) and 4009 (connection expired) keep the session; 4009 is
    // the official "resume" example and satori keeps the session for both.
    case 4008:
    case 4009:
      return platforms::CloseVerdict::resume;
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
      return platforms::CloseVerdict::fatal;
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
  if (code == kAuthenticationFailed) {
    return platforms::CloseVerdict::identify_with_new_credential;
  }
  if (code >= 4000 && code <= 4999) {
    return platforms::CloseVerdict::identify;
  }
  // 1000/1001/1006: the network or a proxy ended the connection, not the session.
  return platforms::CloseVerdict::resume;
}

/// QQ's parts of the dialect.
class QqHooks final : public platforms::GatewayDialectHooks {
 public:
  explicit QqHooks(QqGatewayOptions options) : options_(std::move(options)) {}

  json::object identify_data(const std::string& credential) const override {
    // Notes 4.2 step 3; `properties` "has no effect", so it is sent empty.
    return json::object{{"token", credential},
                        {"intents", options_.intents},
                        {"shard", json::array{options_.shard_id, options_.shard_count}},
                        {"properties", json::object()}};
  }

  platforms::CloseVerdict close_verdict(int close_code) const override {
    return close_verdict_of(close_code);
  }

  std::string fatal_reason(int close_code) const override;

  std::optional<Event> event_from_dispatch(
      const platforms::GatewayDispatch& dispatch) const override {
    return qq_event_from_dispatch(dispatch.type, dispatch.data, dispatch.id, options_.bot_name,
                                  dispatch.bot_user_id);
  }

 private:
  QqGatewayOptions options_;
};

std::string QqHooks::fatal_reason(int close_code) const {
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

}  // namespace

QqGatewayProtocol::QqGatewayProtocol(QqGatewayOptions options)
    : GatewayDialect({.platform_label = "QQ",
                      .resume_url_in_ready = false,  // notes 4.2: no resume URL
                      .bot_user_id = {},             // READY tells it
                      .unit_random = options.unit_random},
                     std::make_unique<QqHooks>(options)) {}

}  // namespace botgate::qq
