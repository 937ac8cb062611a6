#include "botgate/platforms/common/gateway_runner.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <random>

namespace botgate::platforms {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using SteadyClock = std::chrono::steady_clock;

std::string seconds_text(std::chrono::milliseconds duration) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// IdentifyPacer

IdentifyPacer::IdentifyPacer(asio::any_io_executor strand, int max_concurrency,
                             std::chrono::milliseconds window)
    : strand_(std::move(strand)), max_concurrency_(std::max(1, max_concurrency)), window_(window) {}

void IdentifyPacer::set_max_concurrency(int max_concurrency) {
  max_concurrency_ = std::max(1, max_concurrency);
}

asio::awaitable<void> IdentifyPacer::wait_turn(int shard_id) {
  const int bucket = shard_id % max_concurrency_;
  const auto now = SteadyClock::now();
  auto& next = next_allowed_[bucket];
  const auto start = std::max(now, next);
  // Claim the slot before waiting, so that a second shard of the bucket queues behind it.
  next = start + window_;
  if (start > now) {
    asio::steady_timer timer(strand_, start);
    co_await timer.async_wait(use_tuple);
  }
}

// ---------------------------------------------------------------------------------------------
// GatewayRunner

/// One WebSocket connection and its heartbeat timer, shared with the heartbeat coroutine, which
/// may wake after the connection ended and must then touch nothing else.
struct GatewayRunner::Connection {
  Connection(asio::any_io_executor strand, std::unique_ptr<net::WsConnection> socket,
             bool resuming_)
      : ws(std::move(socket)), heartbeat_timer(strand), resuming(resuming_) {}

  void finish(Ending how) {
    if (!over) {
      over = true;
      ending = how;
    }
    heartbeat_timer.cancel();
  }

  std::unique_ptr<net::WsConnection> ws;
  asio::steady_timer heartbeat_timer;
  std::chrono::milliseconds interval{0};
  bool heartbeat_started = false;
  bool resuming = false;  // the session was resumable when this connection opened
  bool over = false;
  Ending ending = Ending::reconnect;
};

GatewayRunner::GatewayRunner(asio::any_io_executor strand, Store& store,
                             std::unique_ptr<GatewayProtocol> protocol,
                             std::shared_ptr<GatewayEndpoint> endpoint,
                             std::shared_ptr<IdentifyPacer> pacer, GatewayRunnerOptions options)
    : strand_(std::move(strand)),
      store_(store),
      protocol_(std::move(protocol)),
      endpoint_(std::move(endpoint)),
      pacer_(std::move(pacer)),
      options_(std::move(options)),
      accepts_(strand_, options_.max_accepts_in_flight),
      sleep_timer_(std::make_unique<asio::steady_timer>(strand_)) {
  if (!options_.lease_name.empty()) {
    lease_ = std::make_unique<ShardLease>(
        strand_, store_, options_.lease_name,
        options_.lease_holder.empty() ? process_lease_holder() : options_.lease_holder,
        options_.label, options_.lease_ttl);
  }
  if (!options_.unit_random) {
    options_.unit_random = [engine = std::mt19937(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

GatewayRunner::~GatewayRunner() = default;

EventSourceStatus GatewayRunner::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void GatewayRunner::set_status(std::string state, std::string detail) {
  std::lock_guard lock(status_mutex_);
  status_.state = std::move(state);
  status_.detail = std::move(detail);
}

void GatewayRunner::note_skipped_frame(const std::string& reason) {
  {
    std::lock_guard lock(status_mutex_);
    ++status_.frames_skipped;
  }
  constexpr std::chrono::minutes kLogEvery{1};
  const auto now = std::chrono::steady_clock::now();
  if (last_skip_log_ != std::chrono::steady_clock::time_point{} &&
      now - last_skip_log_ < kLogEvery) {
    ++skips_unlogged_;
    return;
  }
  if (skips_unlogged_ > 0) {
    spdlog::warn("{}: gateway frame skipped ({}); {} more skipped since the last report",
                 options_.label, reason, skips_unlogged_);
  } else {
    spdlog::warn("{}: gateway frame skipped ({})", options_.label, reason);
  }
  last_skip_log_ = now;
  skips_unlogged_ = 0;
}

void GatewayRunner::stop() {
  stopping_ = true;
  asio::post(strand_, [this] {
    sleep_timer_->cancel();
    // A read is outstanding: drop the socket, and the next start resumes the session.
    drop_connection(Ending::stopped);
  });
}

asio::awaitable<Result<void>> GatewayRunner::send_text(std::string text) {
  // Held while the write runs: the connection may end meanwhile, the socket must not.
  std::shared_ptr<Connection> connection = current_;
  if (!connection || connection->over || !live_) {
    co_return Error{errc::platform_unavailable, options_.label + " is not connected"};
  }
  auto written = co_await connection->ws->write(std::move(text));
  if (!written) {
    co_return Error{errc::platform_unavailable,
                    options_.label + ": write failed: " + written.error().message()};
  }
  co_return Result<void>{};
}

asio::awaitable<void> GatewayRunner::sleep(std::chrono::milliseconds duration) {
  sleep_timer_->expires_after(duration);
  co_await sleep_timer_->async_wait(use_tuple);
}

asio::awaitable<void> GatewayRunner::save(GatewaySession session) {
  if (session == saved_) {
    co_return;
  }
  if (lease_ && !lease_->held()) {
    // The session is the lease holder's: another instance may be writing it now.
    co_return;
  }
  auto saved = co_await store_.session_put(options_.session_key, session);
  if (!saved) {
    // Not fatal: the next start then resumes from an older sequence (dedup drops the replays)
    // or identifies.
    spdlog::warn("{}: cannot store the gateway session: {}", options_.label,
                 saved.error().message());
    co_return;
  }
  saved_ = std::move(session);
  last_save_ = SteadyClock::now();
}

asio::awaitable<void> GatewayRunner::run(Accept accept) {
  accepts_.set_accept(std::move(accept));
  accepts_.set_on_failure([this] {
    if (current_ && !current_->over) {
      asio::co_spawn(strand_, resume_after_store_failure(current_, Socket::reading),
                     asio::detached);
    }
  });
  if (!lease_) co_await load_session();

  while (!stopping_) {
    if (lease_ && !lease_->held()) {
      if (!co_await hold_lease()) break;
      // The instance that held it before may have moved the session on.
      co_await load_session();
    }
    std::chrono::milliseconds delay = next_.delay;
    if (failures_ > 0) {
      delay = std::max(delay, backoff_delay(options_.backoff, failures_, options_.unit_random()));
    }
    if (delay.count() > 0) {
      set_status("reconnecting", next_.reason + "; next attempt in " + seconds_text(delay));
      co_await sleep(delay);
      if (stopping_) {
        break;
      }
    }
    const bool resuming = protocol_->session().resumable();
    if (!resuming && pacer_) {
      co_await pacer_->wait_turn(options_.shard_id);
      if (stopping_) {
        break;
      }
    }
    auto credential = co_await endpoint_->credential();
    if (!credential) {
      ++failures_;
      next_ = Reconnect{resuming, credential.error().message(), next_.url, {}};
      spdlog::warn("{}: no credential for the gateway: {}", options_.label, next_.reason);
      continue;
    }
    const std::string resume_url = resuming ? next_.url : std::string();
    auto url = co_await endpoint_->url(resume_url);
    if (!url) {
      if (auto reason = endpoint_->fatal(url.error())) {
        stop_for_good(std::move(*reason));
        co_return;
      }
      ++failures_;
      next_ = Reconnect{resuming, url.error().message(), next_.url, {}};
      spdlog::warn("{}: no gateway URL: {}", options_.label, next_.reason);
      continue;
    }
    set_status("connecting", resuming ? "resuming the session" : "identifying");
    auto socket = co_await net::WsConnection::connect(strand_, *url, options_.ws);
    if (!socket) {
      if (auto reason = endpoint_->fatal(socket.error())) {
        stop_for_good(std::move(*reason));
        co_return;
      }
      ++failures_;
      next_ = Reconnect{resuming, socket.error().message(), {}, {}};
      if (!resume_url.empty()) {
        // Notes 3.3: a dead resume host must not keep the shard offline; the session can be
        // resumed on the main URL too.
        GatewaySession session = protocol_->session();
        session.resume_url.clear();
        protocol_->restore(session);
        durable_.resume_url.clear();
      }
      spdlog::warn("{}: cannot connect to the gateway: {}", options_.label, next_.reason);
      continue;
    }
    if (stopping_) {
      co_await (*socket)->close(4000, "stopping");
      break;
    }
    if (lease_ && !lease_->held()) {
      // Lost while connecting: identify or resume only while holding it.
      (*socket)->abort();
      continue;
    }
    live_ = false;
    current_ = std::make_shared<Connection>(strand_, std::move(*socket), resuming);
    std::string used = *credential;
    const Ending ending = co_await run_connection(current_, std::move(*credential));
    current_.reset();
    if (handing_over_) {
      handing_over_ = false;
      co_await save(durable_);
      co_await lease_->release();
      if (options_.share) options_.share->gave_up(options_.shard_id);
      spdlog::info("{}: handed over to another instance ({} share the shards)", options_.label,
                   options_.share ? options_.share->group() : std::string("others"));
      continue;
    }
    if (ending == Ending::reconnect && next_.credential_rejected) {
      // The same credential would be refused again (QQ 4004): the next connect gets a new one.
      spdlog::info("{}: the gateway refused the credential; fetching a new one", options_.label);
      co_await endpoint_->credential_rejected(std::move(used));
    }
    failures_ = live_ ? 0 : failures_ + 1;
    if (ending == Ending::fatal) {
      co_return;
    }
    if (ending == Ending::stopped) {
      break;
    }
  }
  co_await save(durable_);
  if (lease_) co_await lease_->release();
  if (options_.share) options_.share->gave_up(options_.shard_id);
  set_status("stopped", "");
}

asio::awaitable<void> GatewayRunner::load_session() {
  auto stored = co_await store_.session_get(options_.session_key);
  if (!stored) {
    spdlog::warn("{}: cannot read the stored gateway session ({}); identifying", options_.label,
                 stored.error().message());
  } else if (*stored) {
    protocol_->restore(**stored);
    durable_ = saved_ = **stored;
    next_.resume = true;
    next_.url = durable_.resume_url;
    spdlog::info("{}: resuming the stored session at sequence {}", options_.label,
                 durable_.sequence);
  } else if (lease_) {
    // None stored (the last holder ended it): identify afresh.
    protocol_->restore(GatewaySession{});
    durable_ = saved_ = GatewaySession{};
    next_.resume = false;
    next_.url.clear();
  }
}

asio::awaitable<bool> GatewayRunner::hold_lease() {
  ShardShare* share = options_.share.get();
  if (share) share->gave_up(options_.shard_id);
  bool waiting = false;
  while (!stopping_) {
    if (share) co_await share->refresh();
    if (share && !share->may_take()) {
      set_status("standby", "this instance holds its share (" +
                                std::to_string(share->fair_share()) +
                                ") of the shards; another instance runs this one");
      co_await sleep(options_.lease_retry);
      continue;
    }
    if (co_await lease_->try_acquire([this] { on_lease_lost(); })) {
      if (waiting) spdlog::info("{}: took over the connection", options_.label);
      if (share) share->took(options_.shard_id);
      co_return true;
    }
    if (!waiting) {
      waiting = true;
      spdlog::info("{}: the lease {} is not free; standing by", options_.label,
                   options_.lease_name);
    }
    // Another instance holds it, or the store did not answer (try_acquire logged why).
    set_status("standby", "waiting for the lease " + options_.lease_name +
                              " (held by another instance, or the store is unreachable); "
                              "trying again every " + seconds_text(options_.lease_retry));
    co_await sleep(options_.lease_retry);
  }
  co_return false;
}

void GatewayRunner::drop_connection(Ending ending) {
  if (!current_ || current_->over) return;
  current_->finish(ending);
  // At once, without a close frame: an abnormal closure keeps the session resumable (a close
  // with 1000 would end it), for the next connection or the next holder of the lease.
  current_->ws->abort();
}

void GatewayRunner::hand_over() {
  if (!lease_ || !current_ || current_->over) return;
  set_status("reconnecting", "handing the shard over to another instance");
  handing_over_ = true;
  drop_connection(Ending::reconnect);
}

void GatewayRunner::on_lease_lost() {
  if (options_.share) options_.share->gave_up(options_.shard_id);
  set_status("reconnecting", "lost the lease " + options_.lease_name);
  drop_connection(Ending::reconnect);
}

asio::awaitable<GatewayRunner::Ending> GatewayRunner::run_connection(
    std::shared_ptr<Connection> connection, std::string credential) {
  Connection& c = *connection;
  if (co_await perform(c, protocol_->on_connected(std::move(credential)), Socket::idle)) {
    for (;;) {
      auto frame = co_await c.ws->read();
      if (c.over) {
        break;  // ended by the heartbeat (zombie) or by stop()
      }
      if (!frame) {
        const int code = c.ws->close_code().value_or(kNoCloseCode);
        spdlog::info("{}: gateway connection ended: {}", options_.label, frame.error().message());
        auto actions = protocol_->on_closed(code);
        if (actions.empty()) {
          Reconnect reconnect;
          reconnect.resume = durable_.resumable();
          reconnect.reason = frame.error().message();
          actions.emplace_back(std::move(reconnect));
        }
        co_await perform(c, std::move(actions), Socket::closed);
        break;
      }
      if (!co_await perform(c, protocol_->on_frame(*frame), Socket::idle)) {
        break;
      }
      // The frame's sequence may be saved once its events, and all before them, are durable.
      accepts_.checkpoint(protocol_->session());
      absorb_durable();
      if (accepts_.failure()) {
        co_await resume_after_store_failure(connection, Socket::idle);
        break;
      }
      if (SteadyClock::now() - last_save_ >= options_.save_interval) {
        co_await save(durable_);
      }
    }
  }
  c.finish(Ending::reconnect);
  co_await settle();
  if (accepts_.failure()) {
    protocol_->restore(durable_);
  }
  accepts_.reset();
  co_return c.ending;
}

asio::awaitable<void> GatewayRunner::settle() {
  co_await accepts_.drain();
  absorb_durable();
}

void GatewayRunner::absorb_durable() {
  if (auto session = accepts_.take_durable()) {
    durable_ = std::move(*session);
  }
}

asio::awaitable<void> GatewayRunner::resume_after_store_failure(
    std::shared_ptr<Connection> connection, Socket socket) {
  Connection& c = *connection;
  if (c.over) {
    co_return;  // already ending: its end goes back to the durable point
  }
  c.finish(Ending::reconnect);
  // Read now: the reader's end of the connection may reset the pipeline while this waits.
  const std::string why = accepts_.failure() ? accepts_.failure()->message() : "unknown";
  co_await settle();
  spdlog::warn("{}: cannot store a gateway event ({}); resuming from sequence {}",
               options_.label, why, durable_.sequence);
  protocol_->restore(durable_);
  Reconnect reconnect;
  reconnect.resume = durable_.resumable();
  reconnect.reason = "the store failed";
  reconnect.url = durable_.resume_url;
  reconnect.delay = std::chrono::seconds(1);
  co_await end_with(c, std::move(reconnect), socket);
}

asio::awaitable<void> GatewayRunner::heartbeat(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  for (;;) {
    auto [ec] = co_await c.heartbeat_timer.async_wait(use_tuple);
    if (c.over) {
      co_return;
    }
    if (ec) {
      continue;  // re-armed by a new StartHeartbeat: wait for the new expiry
    }
    c.heartbeat_timer.expires_after(c.interval);
    if (!co_await perform(c, protocol_->on_heartbeat_due(), Socket::reading)) {
      co_return;
    }
  }
}

asio::awaitable<bool> GatewayRunner::perform(Connection& c, std::vector<GatewayAction> actions,
                                             Socket socket) {
  for (GatewayAction& action : actions) {
    if (c.over) {
      co_return false;
    }
    if (auto* send = std::get_if<SendFrame>(&action)) {
      // A failed write also fails the outstanding read, which handles it.
      auto written = co_await c.ws->write(std::move(send->text));
      if (!written) {
        spdlog::debug("{}: gateway write failed: {}", options_.label, written.error().message());
      }
    } else if (auto* binary = std::get_if<SendBinary>(&action)) {
      auto written = co_await c.ws->write_binary(std::move(binary->bytes));
      if (!written) {
        spdlog::debug("{}: gateway write failed: {}", options_.label, written.error().message());
      }
    } else if (auto* ack = std::get_if<AckWhenDurable>(&action)) {
      // The platform takes the acknowledgement as "delivered": only once the event is ours.
      co_await settle();
      if (accepts_.failure()) {
        co_await resume_after_store_failure(current_, socket);
        co_return false;
      }
      if (c.over) co_return false;
      auto written = co_await c.ws->write_binary(std::move(ack->bytes));
      if (!written) {
        spdlog::debug("{}: gateway write failed: {}", options_.label, written.error().message());
      }
    } else if (auto* beat = std::get_if<StartHeartbeat>(&action)) {
      c.interval = std::max(beat->interval, std::chrono::milliseconds(1));
      c.heartbeat_timer.expires_after(beat->first_delay);
      if (!c.heartbeat_started) {
        c.heartbeat_started = true;
        asio::co_spawn(strand_, heartbeat(current_), asio::detached);
      }
    } else if (auto* emit = std::get_if<EmitEvent>(&action)) {
      co_await accepts_.submit(std::move(emit->event));
      if (accepts_.failure()) {
        co_await resume_after_store_failure(current_, socket);
        co_return false;
      }
    } else if (auto* session = std::get_if<SaveSession>(&action)) {
      // READY or RESUMED: the session is durable only when the replayed events before it are.
      co_await settle();
      if (accepts_.failure()) {
        co_await resume_after_store_failure(current_, socket);
        co_return false;
      }
      durable_ = session->session;
      co_await save(durable_);
      if (!live_) {
        live_ = true;
        spdlog::info("{}: gateway {}", options_.label, c.resuming ? "resumed" : "connected");
        std::lock_guard lock(status_mutex_);
        status_.state = c.resuming ? "resumed" : "connected";
        status_.detail.clear();
        if (c.resuming) {
          ++status_.resumes;
        }
      }
    } else if (auto* reconnect = std::get_if<Reconnect>(&action)) {
      co_await end_with(c, std::move(*reconnect), socket);
      co_return false;
    } else if (auto* fatal = std::get_if<Fatal>(&action)) {
      co_await end_fatal(c, std::move(fatal->reason), socket);
      co_return false;
    } else if (auto* skip = std::get_if<SkipFrame>(&action)) {
      note_skipped_frame(skip->reason);
    }
  }
  co_return !c.over;
}

asio::awaitable<void> GatewayRunner::end_with(Connection& c, Reconnect reconnect, Socket socket) {
  c.finish(Ending::reconnect);
  co_await settle();
  if (accepts_.failure()) {
    protocol_->restore(durable_);
  }
  accepts_.reset();
  if (!reconnect.resume) {
    // The protocol has forgotten the session: so does the store.
    durable_ = protocol_->session();
  }
  spdlog::info("{}: reconnecting ({}), {}", options_.label, reconnect.reason,
               reconnect.resume ? "will resume" : "will identify");
  {
    std::lock_guard lock(status_mutex_);
    status_.state = "reconnecting";
    status_.detail = reconnect.reason;
    ++status_.reconnects;
  }
  next_ = std::move(reconnect);
  co_await save(durable_);
  if (socket == Socket::reading) {
    c.ws->abort();
  } else if (socket == Socket::idle) {
    // Discord: closing with 1000 or 1001 ends the session; any other code keeps it resumable.
    co_await c.ws->close(next_.resume ? 4000 : 1000, "reconnecting");
  }
}

void GatewayRunner::stop_for_good(std::string reason) {
  spdlog::error("{}: gateway stopped: {}", options_.label, reason);
  set_status("fatal", std::move(reason));
}

asio::awaitable<void> GatewayRunner::end_fatal(Connection& c, std::string reason, Socket socket) {
  c.finish(Ending::fatal);
  co_await settle();
  stop_for_good(std::move(reason));
  if (socket == Socket::reading) {
    c.ws->abort();
  } else if (socket == Socket::idle) {
    co_await c.ws->close(1000, "");
  }
}

}  // namespace botgate::platforms
