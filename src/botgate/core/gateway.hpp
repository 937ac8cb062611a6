#pragma once
/// The gateway contract shared by the WebSocket platforms (Discord, QQ, the Feishu/Lark long
/// connection): a sans-I/O state machine that turns connection happenings (connected, a frame,
/// the heartbeat timer, a close) into actions. `platforms/common/` has the runner that owns the socket, the timers and the store and
/// carries the actions out; the protocols never see a socket, a clock or a store, so every branch
/// is testable by feeding frames.
///
/// One connection's life, as the runner drives it:
///
///     protocol.restore(session from the store)        // once, at start; may be empty
///     loop:
///       open the WebSocket (Reconnect::url, else the platform's main gateway URL)
///       run(protocol.on_connected(credential))        // credential fetched fresh for each connect
///       every frame           -> run(protocol.on_frame(frame))   // text or binary
///       heartbeat timer fires -> run(protocol.on_heartbeat_due())
///       socket closed/broken  -> run(protocol.on_closed(code))   // kNoCloseCode without a frame
///     until Fatal or shutdown
///
/// `run` carries out the actions in order. All calls for one protocol object come from one strand.

#include "botgate/core/event.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace botgate {

/// What a resumable gateway session is. The runner loads it from the store at start (so a
/// restarted process resumes instead of losing events) and saves it when told to.
struct GatewaySession {
  /// Empty: no session; the next connection identifies.
  std::string session_id;
  /// The last sequence number received in a dispatch; 0 before the first one.
  std::int64_t sequence = 0;
  /// Where to resume (Discord `resume_gateway_url`); empty means the main gateway URL.
  std::string resume_url;
  /// The bot's own user id (from READY), kept so that mention detection still works after a
  /// resume, which does not repeat READY. Empty when unknown.
  std::string user_id;

  bool resumable() const { return !session_id.empty(); }
  bool operator==(const GatewaySession&) const = default;
};

/// Send this text frame on the current connection. May carry the credential (identify/resume):
/// never log its content.
struct SendFrame {
  std::string text;
  bool operator==(const SendFrame&) const = default;
};

/// Send this binary frame on the current connection (the Feishu long connection's protobuf
/// frames: pings).
struct SendBinary {
  std::string bytes;
  bool operator==(const SendBinary&) const = default;
};

/// Send this binary frame, an event's acknowledgement, once every event emitted so far is
/// durable in the inbox; never before, so that an acknowledged event cannot be lost. If the
/// store failed, the frame is not sent (the platform delivers the event again) and the
/// connection is replaced as after any store failure.
struct AckWhenDurable {
  std::string bytes;
  bool operator==(const AckWhenDurable&) const = default;
};

/// (Re)start this connection's heartbeat timer: call `on_heartbeat_due()` after `first_delay`,
/// then every `interval`. The delay of the first beat is already jittered (Discord: interval x
/// random(0..1)) so that many bots reconnecting at once do not beat in step. Stop the timer when
/// the connection ends.
struct StartHeartbeat {
  std::chrono::milliseconds interval{};
  std::chrono::milliseconds first_delay{};
  bool operator==(const StartHeartbeat&) const = default;
};

/// Accept this event (dedup, durable inbox) exactly like a webhook event. `Event::bot` is set.
struct EmitEvent {
  Event event;
  bool operator==(const EmitEvent&) const = default;
};

/// The session became live (READY, RESUMED): store it. The runner may also treat this as "connected
/// and authenticated" for readiness. Between these, the sequence moves with every dispatch;
/// `GatewayProtocol::session()` always has the latest, which the runner saves after the events of
/// a frame are durable (never before: a crash in between would then skip those events on resume)
/// and before it reconnects.
struct SaveSession {
  GatewaySession session;
  bool operator==(const SaveSession&) const = default;
};

/// End this connection and open a new one after `delay` (plus the runner's own backoff when
/// connections keep failing). Stop the heartbeat timer; if the socket is still open close it with
/// code 4000 when `resume` (Discord: "closing with 1000 or 1001 invalidates the session") and
/// with 1000 otherwise. Save `session()` first: when `resume` is false the protocol has already
/// forgotten the session, so the stored one is cleared too.
///
/// `url`: where to connect; empty means the platform's main gateway URL. When a resume URL cannot
/// be reached at all, the runner calls `restore({})` and connects to the main URL instead, which
/// identifies (Discord notes 3.3: shards got stuck forever on a dead resume host).
///
/// Returned by `on_heartbeat_due()` with `resume = true` when the previous heartbeat was never
/// acknowledged (a zombie connection), by `on_frame()` for a server reconnect request or an
/// invalid session, and by `on_closed()` for close codes that allow it.
struct Reconnect {
  bool resume = false;
  std::string reason;  // for the log; never a secret
  std::string url;
  std::chrono::milliseconds delay{0};
  /// The platform refused the credential this connection identified with (QQ close code 4004):
  /// the runner tells the endpoint (GatewayEndpoint::credential_rejected) so that the next
  /// connection carries a new one rather than the one just refused.
  bool credential_rejected = false;
  bool operator==(const Reconnect&) const = default;
};

/// Stop this bot's gateway for good and do not reconnect: reconnecting would fail the same way and,
/// on Discord, burn the identify budget until the token is reset. `reason` says what to fix (a
/// token, a shard setting, an intent to enable in the developer portal); log it as an error and
/// mark the bot not ready.
struct Fatal {
  std::string reason;
  bool operator==(const Fatal&) const = default;
};

/// The frame was not understood (not JSON, no opcode): it is skipped and the connection goes on
/// with the next one. A resume instead would have the platform replay that same frame, again
/// and again. The runner counts it (EventSourceStatus::frames_skipped) and logs it, at most once
/// a minute; `reason` never holds the frame's content.
struct SkipFrame {
  std::string reason;
  bool operator==(const SkipFrame&) const = default;
};

using GatewayAction =
    std::variant<SendFrame, SendBinary, AckWhenDurable, StartHeartbeat, EmitEvent, SaveSession,
                 Reconnect, Fatal, SkipFrame>;

/// `on_closed()` code for a connection that ended without a close frame (TCP reset, timeout).
inline constexpr int kNoCloseCode = 0;

/// A platform's gateway dialect (Discord, QQ): frames in, actions out, no sockets, no clock, no
/// store. After a `Reconnect` or `Fatal` the connection is over: further frames, heartbeats and
/// close notifications for it are ignored (return nothing) until the next `on_connected()`.
/// Not thread-safe: all calls on the bot's gateway strand.
class GatewayProtocol {
 public:
  virtual ~GatewayProtocol() = default;

  /// Replaces the session, e.g. with the one loaded from the store before the first connect, or
  /// with an empty one to force an identify.
  virtual void restore(GatewaySession session) = 0;
  /// The current session with the latest sequence number.
  virtual GatewaySession session() const = 0;

  /// A new connection is open. `credential` is what identify and resume carry as their token:
  /// Discord's bot token (no "Bot " prefix), QQ's "QQBot <access_token>" (fetched again before
  /// each connect: it may have expired while disconnected). Usually returns nothing, as both
  /// platforms speak first (Hello).
  virtual std::vector<GatewayAction> on_connected(std::string credential) = 0;
  /// One text frame from the server. A frame that is not understood gives `SkipFrame` (its
  /// sequence number, if it has one, is taken as seen).
  virtual std::vector<GatewayAction> on_frame(std::string_view frame) = 0;
  /// The heartbeat timer fired: a `SendFrame` with the heartbeat, or `Reconnect{resume = true}`
  /// when the previous heartbeat was never acknowledged (zombie connection).
  virtual std::vector<GatewayAction> on_heartbeat_due() = 0;
  /// The server closed the connection with `close_code`, or the connection broke
  /// (`kNoCloseCode`): a `Reconnect` (with or without resume) or a `Fatal`. Not called for a
  /// connection the runner closed itself because of a `Reconnect` or `Fatal`.
  virtual std::vector<GatewayAction> on_closed(int close_code) = 0;
};

}  // namespace botgate
