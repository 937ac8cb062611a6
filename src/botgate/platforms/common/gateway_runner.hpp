#pragma once
/// The I/O half of a gateway platform (Discord, QQ, the Feishu/Lark and WeCom AI-bot long
/// connections): owns the WebSocket connection and its heartbeat timer, feeds a `GatewayProtocol`
/// (core/gateway.hpp) and carries out its actions: frames sent, events made durable, the session
/// saved to the store, reconnects with backoff, identifies paced, fatal errors. One per shard.

#include "botgate/core/backoff.hpp"
#include "botgate/core/event_source.hpp"
#include "botgate/core/gateway.hpp"
#include "botgate/core/store.hpp"
#include "botgate/platforms/common/accept_pipeline.hpp"
#include "botgate/platforms/common/shard_lease.hpp"
#include "botgate/platforms/common/shard_share.hpp"
#include "botgate/net/ws_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace botgate::platforms {

namespace asio = boost::asio;

/// Where a gateway connects and with what: the platform's part of the connection.
class GatewayEndpoint {
 public:
  virtual ~GatewayEndpoint() = default;
  /// The URL to open, with the query the platform needs: `resume_url` when it is not empty
  /// (Discord's resume_gateway_url), else the main gateway URL (which may need an API call).
  virtual asio::awaitable<Result<std::string>> url(std::string resume_url) = 0;
  /// What identify and resume carry (see GatewayProtocol::on_connected), fetched for each
  /// connection. A secret: never logged.
  virtual asio::awaitable<Result<std::string>> credential() = 0;
  /// The platform refused `credential` (Reconnect::credential_rejected): forget it, so that the
  /// next credential() fetches a new one. Nothing to do for a credential that does not expire.
  virtual asio::awaitable<void> credential_rejected(std::string credential) {
    (void)credential;
    co_return;
  }
  /// Whether `error`, from url() or from opening the connection, means that no later attempt
  /// can succeed as configured (Feishu: the app is banned, or has all the connections it may
  /// have): the reason to show, and the runner stops for good. Empty: retried with backoff.
  virtual std::optional<std::string> fatal(const Error& error) const {
    (void)error;
    return std::nullopt;
  }
};

/// Spaces a bot's identifies as Discord asks (notes 3.6): at most `max_concurrency` in any
/// 5 seconds, shard `id` in bucket `id % max_concurrency`, one identify per bucket per window.
/// Shared by the runners of a bot's shards, all on the bot's strand.
class IdentifyPacer {
 public:
  explicit IdentifyPacer(asio::any_io_executor strand, int max_concurrency = 1,
                         std::chrono::milliseconds window = std::chrono::seconds(5));
  /// Waits until shard `shard_id` may identify, and takes the turn.
  asio::awaitable<void> wait_turn(int shard_id);
  void set_max_concurrency(int max_concurrency);

 private:
  asio::any_io_executor strand_;
  int max_concurrency_;
  std::chrono::milliseconds window_;
  std::map<int, std::chrono::steady_clock::time_point> next_allowed_;  // by bucket
};

struct GatewayRunnerOptions {
  /// For log lines: "discord bot 'support' shard 0/2".
  std::string label;
  /// The store key of this shard's session.
  std::string session_key;
  int shard_id = 0;
  net::WsClientOptions ws;
  /// Between connections that fail before the session is live.
  BackoffPolicy backoff{std::chrono::milliseconds(1000), std::chrono::seconds(60), 2.0};
  /// How often the sequence reached is written to the store while events flow (it is always
  /// written when a connection ends). A sequence saved late only means that a resume after a
  /// crash replays a few events, which dedup drops.
  std::chrono::milliseconds save_interval{1000};
  /// Events handed to the store and not yet durable. The runner reads on meanwhile, so that a
  /// burst of events shares the store's group commits; the session saved never passes an event
  /// that is not durable.
  std::size_t max_accepts_in_flight = 256;
  /// A random number in [0, 1) for the backoff jitter; null: a std::mt19937.
  std::function<double()> unit_random;
  /// The store lease (Store::lease_acquire) the runner holds while it connects, so that of
  /// several instances on one store only one runs this connection; empty: none (the Feishu
  /// long connection, which every instance may open). Taken before identify or resume, renewed
  /// every ttl/3; when it is lost the connection closes at once and the runner goes back to
  /// taking it, trying every `lease_retry`, and resumes from the stored session once it has it.
  std::string lease_name = {};
  std::chrono::milliseconds lease_ttl{10000};
  std::chrono::milliseconds lease_retry{2000};
  /// Who holds it; empty: this process (process_lease_holder()). Tests play two instances.
  std::string lease_holder = {};
  /// The bot's shards shared out evenly among the instances (with a lease only): the runner
  /// takes its lease only while this instance holds fewer than its fair share. Null: no limit.
  std::shared_ptr<ShardShare> share = {};
};

/// Thread safety: run() on the strand given at construction; stop() and status() from anywhere.
class GatewayRunner final : public EventSource {
 public:
  /// `pacer`: spaces the connections that identify (Discord's and QQ's limit); null for a
  /// platform without such a limit (the Feishu and WeCom long connections), whose connections
  /// then wait only for the backoff.
  GatewayRunner(asio::any_io_executor strand, Store& store,
                std::unique_ptr<GatewayProtocol> protocol,
                std::shared_ptr<GatewayEndpoint> endpoint, std::shared_ptr<IdentifyPacer> pacer,
                GatewayRunnerOptions options);
  ~GatewayRunner() override;

  asio::awaitable<void> run(Accept accept) override;
  void stop() override;
  EventSourceStatus status() const override;

  /// Writes a text frame on the current connection, for a platform whose messages go out over
  /// it (the WeCom AI bot). On the runner's strand. platform_unavailable when no connection is
  /// live (connecting, reconnecting, stopped), or when the write failed (a frame not written
  /// whole is not carried out: it may be sent again).
  asio::awaitable<Result<void>> send_text(std::string text);

  /// Gives the shard to another instance (ShardShare::surplus): the connection ends without
  /// ending the session, which is saved, and the lease is freed for the other to resume it.
  /// On the runner's strand; nothing unless a connection is live.
  void hand_over();
  int shard_id() const noexcept { return options_.shard_id; }

 private:
  struct Connection;
  enum class Ending { reconnect, fatal, stopped };

  /// How the socket is when an action ends the connection: a read is outstanding (the heartbeat
  /// or stop() ends it: abort), no read is (a frame is being handled: close handshake), or it
  /// is already closed.
  enum class Socket { reading, idle, closed };

  asio::awaitable<Ending> run_connection(std::shared_ptr<Connection> connection,
                                         std::string credential);
  asio::awaitable<void> heartbeat(std::shared_ptr<Connection> connection);
  /// Carries out `actions`; false once the connection is over.
  asio::awaitable<bool> perform(Connection& connection, std::vector<GatewayAction> actions,
                                Socket socket);
  asio::awaitable<void> end_with(Connection& connection, Reconnect reconnect, Socket socket);
  asio::awaitable<void> end_fatal(Connection& connection, std::string reason, Socket socket);
  /// Logs `reason` as an error and shows it in the status; the caller then returns.
  void stop_for_good(std::string reason);
  /// Waits for the accepts in flight; `durable_` is then the last durable point.
  asio::awaitable<void> settle();
  /// Takes the newest durable checkpoint of the accepts into `durable_`.
  void absorb_durable();
  /// An accept failed: back to the last durable point, and resume from there (the platform
  /// replays what follows; what was accepted after the failure is dropped by dedup).
  asio::awaitable<void> resume_after_store_failure(std::shared_ptr<Connection> connection,
                                                   Socket socket);
  asio::awaitable<void> save(GatewaySession session);
  /// Reads the stored session and starts from it (resuming), or identifies when there is none.
  asio::awaitable<void> load_session();
  /// Waits until this runner holds its lease (at once without one); false when stopped first.
  asio::awaitable<bool> hold_lease();
  /// The lease was lost: the connection must end now (another instance may open it).
  void on_lease_lost();
  /// Ends the live connection, if any, as `ending`, keeping its session resumable.
  void drop_connection(Ending ending);
  asio::awaitable<void> sleep(std::chrono::milliseconds duration);
  void set_status(std::string state, std::string detail);
  /// Counts a skipped frame and logs it: the first at once, then at most once a minute with
  /// the number skipped since (a broken peer could send thousands a second).
  void note_skipped_frame(const std::string& reason);

  asio::any_io_executor strand_;
  Store& store_;
  std::unique_ptr<GatewayProtocol> protocol_;
  std::shared_ptr<GatewayEndpoint> endpoint_;
  std::shared_ptr<IdentifyPacer> pacer_;
  GatewayRunnerOptions options_;
  AcceptPipeline accepts_;

  /// The session as of the last frame whose events are all durable: what may be saved.
  GatewaySession durable_;
  GatewaySession saved_;  // what the store has
  std::chrono::steady_clock::time_point last_save_{};
  /// Set by a connection's end: how the next one starts.
  Reconnect next_;
  bool live_ = false;  // the current connection reached READY/RESUMED
  int failures_ = 0;   // connections in a row that ended before going live

  std::atomic<bool> stopping_{false};
  std::shared_ptr<Connection> current_;  // strand only
  std::unique_ptr<asio::steady_timer> sleep_timer_;
  std::unique_ptr<ShardLease> lease_;  // null without options_.lease_name
  bool handing_over_ = false;  // hand_over() ended the connection (strand only)

  std::chrono::steady_clock::time_point last_skip_log_{};
  std::uint64_t skips_unlogged_ = 0;

  mutable std::mutex status_mutex_;
  EventSourceStatus status_;
};

}  // namespace botgate::platforms
