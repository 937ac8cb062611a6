#ifdef BOTGATE_WITH_REDIS
// The Redis client against a real redis-server (tests/support/redis_server) on loopback.
#include "botgate/store/redis_client.hpp"

#include "support/redis_server.hpp"
#include "support/testdata.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

namespace botgate::store {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::RedisServerOptions;

/// Runs `io` until `done` is ready (the client's reader keeps `io` busy: run() would not end).
template <class T>
void run_until(asio::io_context& io, std::future<T>& done) {
  while (done.wait_for(0s) != std::future_status::ready) {
    if (io.stopped()) io.restart();  // it ran out of work before `done` was spawned
    io.run_one_for(20ms);
  }
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> work) {
  auto done = asio::co_spawn(io, std::move(work), asio::use_future);
  run_until(io, done);
  return done.get();
}

RedisUrl url_of(const std::string& text) { return parse_redis_url(text).value(); }

TEST(RedisClient, RunsCommandsAndReturnsEachKindOfReply) {
  RedisServer server;
  asio::io_context io;
  RedisClient client(io.get_executor(), url_of(server.url()));
  auto set = run(io, client.command({"SET", "k", std::string("a\0b", 3)})).value();
  EXPECT_EQ(set.type, RedisReply::Type::status);
  EXPECT_EQ(set.text, "OK");
  auto get = run(io, client.command({"GET", "k"})).value();
  EXPECT_EQ(get.type, RedisReply::Type::string);
  EXPECT_EQ(get.text, std::string("a\0b", 3));
  EXPECT_TRUE(run(io, client.command({"GET", "none"})).value().is_nil());
  EXPECT_EQ(run(io, client.command({"INCRBY", "n", "41"})).value().integer, 41);
  run(io, client.command({"RPUSH", "l", "x", "y"})).value();
  auto range = run(io, client.command({"LRANGE", "l", "0", "-1"})).value();
  ASSERT_TRUE(range.is_array());
  ASSERT_EQ(range.elements.size(), 2u);
  EXPECT_EQ(range.elements[1].text, "y");
  auto wrong = run(io, client.command({"INCR", "k"})).value();  // an error reply is no failure
  EXPECT_TRUE(wrong.is_error("ERR"));
  EXPECT_EQ(client.connections(), 1u);
}

TEST(RedisClient, ManyCommandsInFlightAreAnsweredInOrder) {
  RedisServer server;
  asio::io_context io;
  RedisClient client(io.get_executor(), url_of(server.url()));
  std::vector<std::future<Result<RedisReply>>> answers;
  for (int i = 0; i < 200; ++i) {
    answers.push_back(asio::co_spawn(io, client.command({"INCR", "counter"}), asio::use_future));
  }
  auto batch = asio::co_spawn(
      io, client.pipeline({{"SET", "a", "1"}, {"GET", "a"}, {"INCR", "counter"}}),
      asio::use_future);
  run_until(io, batch);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(answers[static_cast<std::size_t>(i)].wait_for(0s), std::future_status::ready);
    EXPECT_EQ(answers[static_cast<std::size_t>(i)].get().value().integer, i + 1);
  }
  auto replies = batch.get().value();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1].text, "1");
  EXPECT_EQ(replies[2].integer, 201);
  EXPECT_EQ(client.connections(), 1u);  // all of it on one connection
}

TEST(RedisClient, SelectsTheUrlsDatabase) {
  RedisServer server;
  asio::io_context io;
  RedisClient three(io.get_executor(), url_of(server.url(3)));
  RedisClient zero(io.get_executor(), url_of(server.url(0)));
  run(io, three.command({"SET", "where", "three"})).value();
  EXPECT_TRUE(run(io, zero.command({"GET", "where"})).value().is_nil());
  EXPECT_EQ(run(io, three.command({"GET", "where"})).value().text, "three");
}

TEST(RedisClient, AuthenticatesWithAPasswordOrAUserAndNeverShowsThePassword) {
  RedisServerOptions options;
  options.password = "default-secret";
  options.user = "app";
  options.user_password = "app-secret";
  RedisServer server(options);
  asio::io_context io;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());

  RedisClient by_password(io.get_executor(), url_of("redis://:default-secret@" + host));
  EXPECT_EQ(run(io, by_password.command({"PING"})).value().text, "PONG");
  RedisClient by_user(io.get_executor(), url_of("redis://app:app-secret@" + host));
  EXPECT_EQ(run(io, by_user.command({"ACL", "WHOAMI"})).value().text, "app");

  RedisClient wrong(io.get_executor(), url_of("redis://app:not-the-secret@" + host));
  auto refused = run(io, wrong.command({"PING"}));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::store_failed));
  EXPECT_NE(refused.error().detail.find("refused"), std::string::npos) << refused.error().detail;
  EXPECT_EQ(refused.error().detail.find("not-the-secret"), std::string::npos);

  // No credentials for a server that wants them: the connection fails, nothing runs.
  RedisClient none(io.get_executor(), url_of("redis://" + host));
  auto unauthenticated = run(io, none.command({"GET", "k"}));
  ASSERT_FALSE(unauthenticated);
  EXPECT_NE(unauthenticated.error().detail.find("NOAUTH"), std::string::npos);
}

TEST(RedisClient, ALostConnectionFailsWhatIsPendingAndTheNextUseReconnects) {
  RedisServer server;
  asio::io_context io;
  RedisClientOptions options;
  options.reconnect = BackoffPolicy{50ms, 200ms, 2.0};
  RedisClient client(io.get_executor(), url_of(server.url()), options);
  run(io, client.command({"SET", "k", "v"})).value();

  // A command that blocks on the server is pending when the server dies.
  auto pending = asio::co_spawn(io, client.command({"BLPOP", "nothing", "0"}), asio::use_future);
  for (int i = 0; i < 10; ++i) io.run_one_for(10ms);
  server.kill();
  run_until(io, pending);
  auto lost = pending.get();
  ASSERT_FALSE(lost);
  EXPECT_TRUE(lost.error().is(errc::store_failed)) << lost.error().message();
  EXPECT_NE(lost.error().detail.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos);

  // Down: commands fail (at once while backing off), they do not hang.
  auto down = run(io, client.command({"GET", "k"}));
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().is(errc::store_failed));

  server.start();  // empty again: no persistence
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  Result<RedisReply> back = Error{errc::store_failed};
  while (!back && std::chrono::steady_clock::now() < deadline) {
    back = run(io, client.command({"SET", "k", "again"}));
    if (!back) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(run(io, client.command({"GET", "k"})).value().text, "again");
  EXPECT_EQ(client.connections(), 2u);
}

TEST(RedisClient, AnUnreachableServerFailsWithStoreFailed) {
  std::uint16_t port = 0;
  {
    RedisServer server;
    port = server.port();
  }  // stopped: nothing listens there now
  asio::io_context io;
  RedisClient client(io.get_executor(),
                     url_of("redis://:pw@127.0.0.1:" + std::to_string(port) + "/0"));
  auto answer = run(io, client.command({"PING"}));
  ASSERT_FALSE(answer);
  EXPECT_TRUE(answer.error().is(errc::store_failed));
  EXPECT_NE(answer.error().detail.find("connect"), std::string::npos) << answer.error().detail;
}

TEST(RedisClient, SpeaksTlsToARedissUrlAndVerifiesTheServer) {
  RedisServerOptions options;
  options.tls = true;
  options.password = "tls-secret";
  RedisServer server(options);
  asio::io_context io;
  const std::string base = "rediss://:tls-secret@127.0.0.1:" + std::to_string(server.port());
  RedisClientOptions trusting;
  trusting.ca_file = test::testdata_path("net/ca.pem");
  RedisClient client(io.get_executor(), url_of(base + "/2"), trusting);
  run(io, client.command({"SET", "k", "over tls"})).value();
  EXPECT_EQ(run(io, client.command({"GET", "k"})).value().text, "over tls");

  // Without the test CA the server's certificate is not trusted: no connection.
  RedisClient untrusting(io.get_executor(), url_of(base));
  auto refused = run(io, untrusting.command({"PING"}));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("TLS"), std::string::npos) << refused.error().detail;
}

}  // namespace
}  // namespace botgate::store
#endif
