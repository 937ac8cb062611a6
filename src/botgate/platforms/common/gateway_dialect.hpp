#pragma once
/// The gateway dialect Discord and QQ share (Discord notes section 3, QQ notes section 4), as one
/// sans-I/O `GatewayProtocol`: Hello -> heartbeat (first beat jittered) + Identify or Resume;
/// heartbeats carrying the last sequence, a beat without an ACK since the previous one taken for
/// a zombie connection; dispatches tracked by sequence; READY/RESUMED saved as the session; op 7
/// RECONNECT, op 9 INVALID SESSION and close codes mapped to resume, re-identify or stop; a frame
/// that does not parse skipped.
///
/// What differs between the platforms is a `GatewayDialectHooks`: the identify frame's `d`, the
/// close-code table and its fatal reasons, and turning a dispatch into an `Event`. The platform's
/// protocol class (DiscordGatewayProtocol, QqGatewayProtocol) is this class with its hooks.

#include "botgate/core/event.hpp"
#include "botgate/core/gateway.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::platforms {

/// What a close code from the server asks for.
enum class CloseVerdict {
  /// The connection ended, not the session: resume (identify when there is no session).
  resume,
  /// The session is gone: forget it and identify on a new connection.
  identify,
  /// Like `identify`, and the credential itself was refused (QQ 4004, an access token that
  /// expired early): the runner gets a new one before the next connection.
  identify_with_new_credential,
  /// A setting or the bot's standing is wrong: reconnecting would fail the same way. Stop.
  fatal,
};

/// One dispatch (op 0) whose `d` is an object, as the platform reads it.
struct GatewayDispatch {
  /// The payload's `t`, e.g. "MESSAGE_CREATE".
  std::string_view type;
  /// The payload's `d`.
  const boost::json::object& data;
  /// The payload's top-level `id` (QQ's event id); empty when absent.
  std::string_view id;
  /// The bot's own user id (READY, the restored session, or known before); empty when unknown.
  const std::string& bot_user_id;
};

/// What a platform that speaks the dialect supplies. Called from the protocol's calls only, so
/// on the bot's gateway strand.
class GatewayDialectHooks {
 public:
  virtual ~GatewayDialectHooks() = default;

  /// Identify's `d` (op 2) for a connection whose credential is `credential`.
  virtual boost::json::object identify_data(const std::string& credential) const = 0;
  /// What close code `close_code` (a 1xxx or 4xxx from the server; never kNoCloseCode) asks for.
  virtual CloseVerdict close_verdict(int close_code) const = 0;
  /// For a close code whose verdict is `fatal`: what the operator has to fix. Never a secret.
  virtual std::string fatal_reason(int close_code) const = 0;
  /// The Event of a dispatch other than READY and RESUMED, or nullopt when it is not one (another
  /// type, the bot's own message, a malformed `d`). Its sequence is already counted.
  virtual std::optional<Event> event_from_dispatch(const GatewayDispatch& dispatch) const = 0;
};

struct GatewayDialectOptions {
  /// The platform's name in reasons for the log: "Discord", "QQ".
  std::string platform_label;
  /// READY's `resume_gateway_url` is where to resume (Discord). False: every connection goes to
  /// the main gateway URL, and a restored session's resume URL is dropped (QQ).
  bool resume_url_in_ready = false;
  /// The bot's user id when known before READY (Discord: GET /users/@me); READY replaces it.
  std::string bot_user_id;
  /// A random number in [0, 1) for the jitter of the first heartbeat and of the wait after an
  /// invalid session. Null: a std::mt19937 seeded from std::random_device. Tests pass a constant.
  std::function<double()> unit_random;
};

/// The dialect's state machine with a platform's hooks. Not thread-safe: all calls on the bot's
/// gateway strand.
class GatewayDialect : public GatewayProtocol {
 public:
  GatewayDialect(GatewayDialectOptions options, std::unique_ptr<GatewayDialectHooks> hooks);
  ~GatewayDialect() override;

  void restore(GatewaySession session) override;
  GatewaySession session() const override;

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

  GatewayDialectOptions options_;
  std::unique_ptr<GatewayDialectHooks> hooks_;
  GatewaySession session_;
  std::string credential_;
  bool connection_over_ = false;
  bool awaiting_ack_ = false;
};

}  // namespace botgate::platforms
