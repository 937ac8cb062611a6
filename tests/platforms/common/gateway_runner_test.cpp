// GatewayRunner over a real WebSocket connection to an in-process echo server, driven by a
// scripted GatewayProtocol: every frame the runner sends comes back as a frame, so a test scripts
// a whole conversation (identify, dispatches, heartbeats, reconnects) from the protocol's side.
#include "botgate/platforms/common/gateway_runner.hpp"

#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/run_sync.hpp"
#include "support/run_until.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace botgate::platforms {
namespace {

using namespace std::chrono_literals;
using test::MemoryStore;
using test::run_until;
using test::TestWsServer;

using Actions = std::vector<GatewayAction>;

/// A GatewayProtocol whose answers the test supplies. Records what the runner told it.
class ScriptedProtocol final : public GatewayProtocol {
 public:
  std::function<Actions(ScriptedProtocol&)> connected = [](ScriptedProtocol&) { return Actions{}; };
  std::function<Actions(ScriptedProtocol&, std::string_view)> frame =
      [](ScriptedProtocol&, std::string_view) { return Actions{}; };
  std::function<Actions(ScriptedProtocol&)> heartbeat_due = [](ScriptedProtocol&) {
    return Actions{};
  };
  std::function<Actions(ScriptedProtocol&, int)> closed = [](ScriptedProtocol& p, int) {
    return Actions{Reconnect{p.session_.resumable(), "closed", p.session_.resume_url, {}}};
  };

  void restore(GatewaySession session) override {
    restored.push_back(session);
    session_ = std::move(session);
  }
  GatewaySession session() const override { return session_; }
  Actions on_connected(std::string credential) override {
    credentials.push_back(credential);
    sessions_at_connect.push_back(session_);
    return connected(*this);
  }
  Actions on_frame(std::string_view text) override {
    frames.emplace_back(text);
    return frame(*this, text);
  }
  Actions on_heartbeat_due() override {
    ++heartbeats;
    return heartbeat_due(*this);
  }
  Actions on_closed(int code) override {
    close_codes.push_back(code);
    return closed(*this, code);
  }

  GatewaySession session_;
  std::vector<GatewaySession> restored;
  std::vector<std::string> credentials;
  std::vector<GatewaySession> sessions_at_connect;
  std::vector<std::string> frames;
  std::vector<int> close_codes;
  int heartbeats = 0;
};

/// Hands out the echo server's URL; a non-empty resume URL is used as given.
class TestEndpoint final : public GatewayEndpoint {
 public:
  explicit TestEndpoint(std::string main_url) : main_url_(std::move(main_url)) {}
  asio::awaitable<Result<std::string>> url(std::string resume_url) override {
    asked.push_back(resume_url);
    co_return resume_url.empty() ? main_url_ : resume_url;
  }
  asio::awaitable<Result<std::string>> credential() override {
    co_return "s3cret-" + std::to_string(rejected.size());
  }
  asio::awaitable<void> credential_rejected(std::string credential) override {
    rejected.push_back(std::move(credential));
    co_return;
  }

  std::vector<std::string> asked;
  std::vector<std::string> rejected;

 private:
  std::string main_url_;
};

Event event_numbered(int n) {
  Event e;
  e.platform = "discord";
  e.bot = "bot";
  e.platform_event_id = "m" + std::to_string(n);
  e.chat.id = "c";
  e.message = Message{"m" + std::to_string(n), "text " + std::to_string(n), false, {}};
  return e;
}

/// "seq:N" frames: dispatch N, which carries one event.
int sequence_of(std::string_view frame) {
  return frame.starts_with("seq:") ? std::stoi(std::string(frame.substr(4))) : 0;
}

class GatewayRunnerTest : public ::testing::Test {
 protected:
  void make_runner(std::string main_url,
                   std::function<void(GatewayRunnerOptions&)> adjust = nullptr) {
    endpoint_ = std::make_shared<TestEndpoint>(std::move(main_url));
    auto protocol = std::make_unique<ScriptedProtocol>();
    protocol_ = protocol.get();
    GatewayRunnerOptions options;
    options.label = "test shard 0/1";
    options.session_key = "test:bot:0";
    options.backoff = BackoffPolicy{5ms, 20ms, 2.0};
    options.save_interval = 0ms;
    options.unit_random = [] { return 0.5; };
    if (adjust) adjust(options);
    // Discord's 5 s identify window would make the reconnect tests slow.
    auto pacer = std::make_shared<IdentifyPacer>(strand_, 1, 10ms);
    runner_ = std::make_unique<GatewayRunner>(strand_, store_, std::move(protocol), endpoint_,
                                              std::move(pacer), options);
  }

  void start() {
    start([this](Event event) -> asio::awaitable<Result<bool>> {
      std::vector<std::string> keys{"k:" + event.platform_event_id};
      co_return co_await store_.accept(std::move(event), std::move(keys), 1h);
    });
  }

  void start(EventSource::Accept accept) {
    asio::co_spawn(strand_, runner_->run(std::move(accept)), [this](std::exception_ptr e) {
      run_error_ = e;
      run_returned_ = true;
    });
  }

  void stop_and_wait() {
    runner_->stop();
    ASSERT_TRUE(run_until(io_, [&] { return run_returned_; }));
    EXPECT_FALSE(run_error_);
  }

  std::vector<std::string> inbox_ids() const {
    std::vector<std::string> ids;
    for (const InboxItem& item : store_.inbox()) ids.push_back(item.event.platform_event_id);
    return ids;
  }

  /// The next session end the server saw, while this thread keeps the runner going.
  std::optional<TestWsServer::SessionEnd> next_session_end(TestWsServer& server) {
    std::optional<TestWsServer::SessionEnd> end;
    run_until(io_, [&] {
      end = server.wait_session_end(0ms);
      return end.has_value();
    });
    return end;
  }

  std::optional<GatewaySession> stored_session() {
    return test::run_on(io_, store_.session_get("test:bot:0")).value();
  }

  asio::io_context io_;
  asio::any_io_executor strand_ = asio::make_strand(io_);
  MemoryStore store_;
  std::shared_ptr<TestEndpoint> endpoint_;
  ScriptedProtocol* protocol_ = nullptr;
  std::unique_ptr<GatewayRunner> runner_;
  bool run_returned_ = false;
  std::exception_ptr run_error_;
};

/// Identify -> READY (session "sess") -> dispatches 2..last, each one event.
void script_ready_then_events(ScriptedProtocol& p, int last) {
  p.connected = [](ScriptedProtocol&) { return Actions{SendFrame{"identify"}}; };
  p.frame = [last](ScriptedProtocol& self, std::string_view text) {
    if (text == "identify") {
      self.session_ = GatewaySession{"sess", 1, "", "bot-user"};
      return Actions{SaveSession{self.session_}, SendFrame{"seq:2"}};
    }
    const int n = sequence_of(text);
    if (n == 0) return Actions{};
    self.session_.sequence = n;
    Actions actions{EmitEvent{event_numbered(n)}};
    if (n < last) actions.emplace_back(SendFrame{"seq:" + std::to_string(n + 1)});
    return actions;
  };
}

TEST_F(GatewayRunnerTest, EventsBecomeDurableAndTheSessionIsSavedAfterThem) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  script_ready_then_events(*protocol_, 4);
  start();

  ASSERT_TRUE(run_until(io_, [&] { return inbox_ids().size() == 3; }));
  EXPECT_EQ(inbox_ids(), (std::vector<std::string>{"m2", "m3", "m4"}));
  EXPECT_EQ(protocol_->credentials, std::vector<std::string>{"s3cret-0"});
  ASSERT_TRUE(run_until(io_, [&] {
    auto s = stored_session();
    return s && s->sequence == 4;
  }));
  EXPECT_EQ(stored_session()->session_id, "sess");
  EXPECT_EQ(runner_->status().state, "connected");

  stop_and_wait();
  EXPECT_EQ(runner_->status().state, "stopped");
  // stop() drops the socket without a close handshake, so Discord keeps the session resumable.
  auto end = next_session_end(server);
  ASSERT_TRUE(end);
  EXPECT_NE(end->error, boost::beast::websocket::error::closed);
  EXPECT_EQ(stored_session()->sequence, 4) << "the session survives the stop";
}

// Several instances on one store: the runner connects only while it holds its lease.
TEST_F(GatewayRunnerTest, ConnectsOnlyWhileItHoldsTheLeaseAndResumesTheLastHoldersSession) {
  const std::string lease = "gateway:test:bot:0";
  TestWsServer server;
  make_runner(server.url("/gateway"), [&](GatewayRunnerOptions& options) {
    options.lease_name = lease;
    options.lease_holder = "this instance";
    options.lease_ttl = 300ms;
    options.lease_retry = 20ms;
  });
  script_ready_then_events(*protocol_, 2);
  // Another instance holds the shard, and its session is in the store.
  auto other = test::run_sync(store_.lease_acquire(lease, "other instance", 10s)).value();
  ASSERT_TRUE(other);
  ASSERT_TRUE(test::run_sync(store_.session_put("test:bot:0",
                                                   GatewaySession{"theirs", 7, "", "bot-user"})));
  start();
  ASSERT_TRUE(run_until(io_, [&] { return runner_->status().state == "standby"; }));
  run_until(io_, [] { return false; }, 200ms);
  EXPECT_TRUE(protocol_->sessions_at_connect.empty()) << "no connection without the lease";

  ASSERT_TRUE(test::run_sync(store_.lease_release(lease, "other instance", other->epoch)));
  ASSERT_TRUE(run_until(io_, [&] { return !protocol_->sessions_at_connect.empty(); }));
  EXPECT_EQ(protocol_->sessions_at_connect[0].session_id, "theirs")
      << "it resumes the session the last holder stored";
  EXPECT_EQ(protocol_->sessions_at_connect[0].sequence, 7);

  // Renewed while held: after several ttls it still holds it.
  run_until(io_, [] { return false; }, 700ms);
  EXPECT_FALSE(test::run_sync(store_.lease_acquire(lease, "other instance", 10s)).value());
  stop_and_wait();
  EXPECT_TRUE(test::run_sync(store_.lease_acquire(lease, "other instance", 10s)).value())
      << "a stopped runner frees its lease";
}

TEST_F(GatewayRunnerTest, ALostLeaseClosesTheConnectionAndTheRunnerStandsBy) {
  const std::string lease = "gateway:test:bot:0";
  TestWsServer server;
  make_runner(server.url("/gateway"), [&](GatewayRunnerOptions& options) {
    options.lease_name = lease;
    options.lease_holder = "this instance";
    options.lease_ttl = 300ms;
    options.lease_retry = 20ms;
  });
  script_ready_then_events(*protocol_, 2);
  start();
  ASSERT_TRUE(run_until(io_, [&] { return runner_->status().state == "connected"; }));
  // The lease is taken from it (as if it had expired while the instance stalled). On another
  // io_context: the runner does not run between the release and the other's acquire.
  auto mine = test::run_sync(store_.lease_acquire(lease, "this instance", 300ms)).value();
  ASSERT_TRUE(mine);
  ASSERT_TRUE(test::run_sync(store_.lease_release(lease, "this instance", mine->epoch)));
  ASSERT_TRUE(test::run_sync(store_.lease_acquire(lease, "other instance", 10s)).value());

  auto end = next_session_end(server);
  ASSERT_TRUE(end) << "the connection is closed once the renewal fails";
  ASSERT_TRUE(run_until(io_, [&] { return runner_->status().state == "standby"; }));
  run_until(io_, [] { return false; }, 200ms);
  EXPECT_EQ(protocol_->sessions_at_connect.size(), 1u) << "and it does not connect again";
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, SkippedFramesAreCountedAndTheConnectionGoesOn) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  protocol_->connected = [](ScriptedProtocol&) { return Actions{SendFrame{"identify"}}; };
  protocol_->frame = [](ScriptedProtocol& p, std::string_view text) {
    if (text == "identify") {
      p.session_ = GatewaySession{"sess", 1, "", ""};
      return Actions{SaveSession{p.session_}, SendFrame{"bad 1"}};
    }
    if (text == "bad 1") return Actions{SkipFrame{"not JSON"}, SendFrame{"bad 2"}};
    if (text == "bad 2") return Actions{SkipFrame{"not JSON"}, SendFrame{"seq:2"}};
    if (sequence_of(text) == 2) {
      p.session_.sequence = 2;
      return Actions{EmitEvent{event_numbered(2)}};
    }
    return Actions{};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return inbox_ids().size() == 1; }));
  EXPECT_EQ(runner_->status().frames_skipped, 2u);
  EXPECT_EQ(runner_->status().reconnects, 0u);
  EXPECT_EQ(protocol_->sessions_at_connect.size(), 1u);
  EXPECT_EQ(runner_->status().state, "connected");
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, ARejectedCredentialIsReportedAndTheNextConnectionGetsANewOne) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  protocol_->connected = [](ScriptedProtocol& p) {
    if (p.credentials.size() > 1) return Actions{};
    Reconnect refused{false, "authentication failed (close code 4004)", "", {}};
    refused.credential_rejected = true;
    return Actions{refused};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return protocol_->credentials.size() == 2; }));
  EXPECT_EQ(endpoint_->rejected, std::vector<std::string>{"s3cret-0"});
  EXPECT_EQ(protocol_->credentials[1], "s3cret-1");
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, AStoredSessionIsRestoredAndResumedOnItsResumeUrl) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  const GatewaySession stored{"sess", 41, server.url("/resume-here"), "bot-user"};
  ASSERT_TRUE(test::run_on(io_, store_.session_put("test:bot:0", stored)));
  protocol_->connected = [](ScriptedProtocol& p) {
    return Actions{SendFrame{"resume " + std::to_string(p.session_.sequence)}};
  };
  protocol_->frame = [](ScriptedProtocol& p, std::string_view text) {
    if (text.starts_with("resume")) return Actions{SaveSession{p.session_}};
    return Actions{};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return runner_->status().state == "resumed"; }));
  ASSERT_EQ(protocol_->sessions_at_connect.size(), 1u);
  EXPECT_EQ(protocol_->sessions_at_connect[0], stored);
  EXPECT_EQ(endpoint_->asked, std::vector<std::string>{server.url("/resume-here")});
  ASSERT_EQ(server.upgrade_requests().size(), 1u);
  EXPECT_EQ(server.upgrade_requests()[0].target(), "/resume-here");
  EXPECT_EQ(protocol_->frames, std::vector<std::string>{"resume 41"});
  EXPECT_EQ(runner_->status().resumes, 1u);
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, HeartbeatsRunOnTheTimerAndAZombieConnectionIsAbortedAndResumed) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  protocol_->connected = [](ScriptedProtocol& p) {
    p.session_ = GatewaySession{"sess", 5, "", ""};
    return Actions{StartHeartbeat{20ms, 5ms}, SaveSession{p.session_}};
  };
  protocol_->heartbeat_due = [](ScriptedProtocol& p) {
    // The third beat finds the second unacknowledged.
    if (p.heartbeats % 3 == 0) return Actions{Reconnect{true, "zombie", "", {}}};
    return Actions{SendFrame{"beat"}};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return protocol_->sessions_at_connect.size() == 2; }));
  EXPECT_GE(protocol_->heartbeats, 3);
  EXPECT_EQ(std::count(protocol_->frames.begin(), protocol_->frames.end(), "beat"), 2)
      << "each beat was sent on the socket (and echoed back)";
  auto end = next_session_end(server);
  ASSERT_TRUE(end);
  EXPECT_NE(end->error, boost::beast::websocket::error::closed)
      << "a zombie connection is dropped, not closed with a handshake";
  EXPECT_TRUE(protocol_->sessions_at_connect[1].resumable()) << "the second connection resumes";
  EXPECT_EQ(runner_->status().reconnects, 1u);
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, ReconnectClosesWith4000ToResumeAnd1000ToIdentify) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  protocol_->connected = [](ScriptedProtocol& p) {
    if (p.sessions_at_connect.size() == 1) {
      p.session_ = GatewaySession{"sess", 3, "", ""};
      return Actions{SaveSession{p.session_}, SendFrame{"op7"}};
    }
    if (p.sessions_at_connect.size() == 2) return Actions{SendFrame{"op9"}};
    return Actions{};
  };
  protocol_->frame = [](ScriptedProtocol& p, std::string_view text) {
    if (text == "op7") return Actions{Reconnect{true, "op 7", "", {}}};
    if (text == "op9") {
      p.session_ = {};  // the protocol forgets the session before asking for an identify
      return Actions{Reconnect{false, "op 9", "", 30ms}};
    }
    return Actions{};
  };
  start();

  auto first = next_session_end(server);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->error, boost::beast::websocket::error::closed);
  EXPECT_EQ(first->close_code, 4000);
  auto second = next_session_end(server);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->close_code, 1000);
  ASSERT_TRUE(run_until(io_, [&] { return protocol_->sessions_at_connect.size() == 3; }));
  EXPECT_TRUE(protocol_->sessions_at_connect[1].resumable());
  EXPECT_FALSE(protocol_->sessions_at_connect[2].resumable());
  EXPECT_FALSE(stored_session()) << "a session the protocol gave up is cleared from the store";
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, FatalEndsRunAndSaysWhy) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  protocol_->connected = [](ScriptedProtocol&) { return Actions{SendFrame{"identify"}}; };
  protocol_->frame = [](ScriptedProtocol&, std::string_view) {
    return Actions{Fatal{"authentication failed: copy a new token"}};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return run_returned_; }));
  EXPECT_FALSE(run_error_);
  EXPECT_EQ(runner_->status().state, "fatal");
  EXPECT_EQ(runner_->status().detail, "authentication failed: copy a new token");
  EXPECT_EQ(protocol_->sessions_at_connect.size(), 1u) << "no reconnect after a fatal error";
}

TEST_F(GatewayRunnerTest, AnEventTheStoreRefusesIsReceivedAgainAfterAResume) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  store_.fail_accepts(1);
  protocol_->connected = [](ScriptedProtocol& p) {
    if (p.session_.resumable()) {
      // Resumed from the last durable sequence: the platform replays from there.
      return Actions{SaveSession{p.session_},
                     SendFrame{"seq:" + std::to_string(p.session_.sequence + 1)}};
    }
    p.session_ = GatewaySession{"sess", 1, "", ""};
    return Actions{SaveSession{p.session_}, SendFrame{"seq:2"}};
  };
  protocol_->frame = [](ScriptedProtocol& p, std::string_view text) {
    const int n = sequence_of(text);
    p.session_.sequence = n;
    return Actions{EmitEvent{event_numbered(n)}};
  };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return inbox_ids().size() == 1; }, 10s));
  EXPECT_EQ(inbox_ids(), std::vector<std::string>{"m2"});
  ASSERT_GE(protocol_->restored.size(), 1u);
  EXPECT_EQ(protocol_->restored.back().sequence, 1) << "rolled back to the last durable sequence";
  ASSERT_EQ(protocol_->sessions_at_connect.size(), 2u);
  EXPECT_EQ(protocol_->sessions_at_connect[1].sequence, 1);
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, UnreachableResumeUrlFallsBackToTheMainUrlKeepingTheSession) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  // A port nothing listens on: take one from a server that is gone.
  std::string dead_url;
  {
    TestWsServer gone;
    dead_url = gone.url("/");
  }
  ASSERT_TRUE(test::run_on(
      io_, store_.session_put("test:bot:0", GatewaySession{"sess", 9, dead_url, ""})));
  protocol_->connected = [](ScriptedProtocol& p) { return Actions{SaveSession{p.session_}}; };
  start();

  ASSERT_TRUE(run_until(io_, [&] { return runner_->status().state == "resumed"; }));
  EXPECT_EQ(endpoint_->asked, (std::vector<std::string>{dead_url, ""}));
  ASSERT_EQ(protocol_->sessions_at_connect.size(), 1u);
  EXPECT_EQ(protocol_->sessions_at_connect[0].session_id, "sess");
  EXPECT_EQ(protocol_->sessions_at_connect[0].sequence, 9);
  EXPECT_EQ(protocol_->sessions_at_connect[0].resume_url, "");
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, ConnectionsThatNeverGoLiveBackOff) {
  TestWsServer server({.close_code = 4000, .close_reason = "go away"});
  make_runner(server.url("/gateway"));
  start();

  ASSERT_TRUE(run_until(io_, [&] { return protocol_->close_codes.size() >= 4; }));
  EXPECT_EQ(protocol_->close_codes[0], 4000);
  EXPECT_GE(runner_->status().reconnects, 3u);
  stop_and_wait();
}

TEST_F(GatewayRunnerTest, FramesAreReadOnWhileTheirEventsAreStoredAndTheSessionWaitsForThem) {
  TestWsServer server;
  make_runner(server.url("/gateway"));
  // READY, then five dispatches in one burst (the echo server returns them at once).
  protocol_->connected = [](ScriptedProtocol&) { return Actions{SendFrame{"identify"}}; };
  protocol_->frame = [](ScriptedProtocol& p, std::string_view text) {
    if (text == "identify") {
      p.session_ = GatewaySession{"sess", 1, "", "bot-user"};
      Actions actions{SaveSession{p.session_}};
      for (int n = 2; n <= 6; ++n) actions.emplace_back(SendFrame{"seq:" + std::to_string(n)});
      return actions;
    }
    const int n = sequence_of(text);
    if (n == 0) return Actions{};
    p.session_.sequence = n;
    return Actions{EmitEvent{event_numbered(n)}};
  };
  // A slow store: each accept waits until the test lets it finish.
  std::vector<std::string> started;
  std::map<std::string, std::shared_ptr<asio::steady_timer>> gates;
  start([&](Event event) -> asio::awaitable<Result<bool>> {
    const std::string id = event.platform_event_id;
    started.push_back(id);
    auto gate = std::make_shared<asio::steady_timer>(strand_, asio::steady_timer::time_point::max());
    gates[id] = gate;
    co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
    std::vector<std::string> keys{"k:" + id};
    co_return co_await store_.accept(std::move(event), std::move(keys), 1h);
  });

  ASSERT_TRUE(run_until(io_, [&] { return started.size() == 5; }))
      << "all five events are in the store's hands before the first is durable";
  EXPECT_EQ(started, (std::vector<std::string>{"m2", "m3", "m4", "m5", "m6"}));
  ASSERT_TRUE(run_until(io_, [&] { return stored_session().has_value(); }));
  EXPECT_EQ(stored_session()->sequence, 1) << "nothing past READY is saved yet";

  // The later events finish first: the saved sequence still waits for m2.
  for (const char* id : {"m4", "m5", "m6"}) gates.at(id)->cancel();
  ASSERT_TRUE(run_until(io_, [&] { return inbox_ids().size() == 3; }));
  io_.poll();
  EXPECT_EQ(stored_session()->sequence, 1);

  gates.at("m2")->cancel();
  gates.at("m3")->cancel();
  ASSERT_TRUE(run_until(io_, [&] { return inbox_ids().size() == 5u; }));
  // Saved with the next frame after save_interval, or, as here, when the connection ends.
  stop_and_wait();
  EXPECT_EQ(stored_session()->sequence, 6);
}

TEST(IdentifyPacerTest, OneIdentifyPerBucketPerWindow) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  IdentifyPacer pacer(strand, 2, 200ms);
  std::vector<std::pair<int, std::chrono::steady_clock::time_point>> turns;
  const auto start = std::chrono::steady_clock::now();
  for (int shard : {0, 1, 2, 3}) {
    asio::co_spawn(
        strand,
        [&, shard]() -> asio::awaitable<void> {
          co_await pacer.wait_turn(shard);
          turns.emplace_back(shard, std::chrono::steady_clock::now());
        },
        asio::detached);
  }
  ASSERT_TRUE(run_until(io, [&] { return turns.size() == 4; }));
  // Shards 0 and 1 (buckets 0 and 1) go at once; 2 and 3 wait for their bucket's window.
  for (const auto& [shard, at] : turns) {
    const auto waited = at - start;
    if (shard < 2) {
      EXPECT_LT(waited, 150ms) << "shard " << shard;
    } else {
      EXPECT_GE(waited, 200ms) << "shard " << shard;
    }
  }
}

}  // namespace
}  // namespace botgate::platforms
