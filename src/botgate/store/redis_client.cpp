#include "botgate/store/redis_client.hpp"

#include "botgate/crypto/system_trust.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <deque>
#include <tuple>
#include <optional>
#include <stdexcept>
#include <utility>

namespace botgate::store {

namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kNoError = asio::as_tuple(asio::use_awaitable);

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::array; break;
    default: out.type = RedisReply::Type::nil; break;
  }
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    out.text.assign(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) out.integer = r->integer;
  if (r->type == REDIS_REPLY_ARRAY) {
    out.elements.reserve(r->elements);
    for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  }
  return out;
}

/// The RESP bytes of one command.
std::string format_command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(),
                                            lengths.data());
  if (length < 0 || formatted == nullptr) throw std::bad_alloc();
  std::string bytes(formatted, static_cast<std::size_t>(length));
  redisFreeCommand(formatted);
  return bytes;
}

/// A caller waiting for the replies of its commands.
struct Pending {
  explicit Pending(asio::any_io_executor executor, std::size_t count)
      : expected(count), signal(executor) {}
  std::size_t expected;
  std::vector<RedisReply> replies;
  std::optional<Error> error;
  bool done = false;
  asio::steady_timer signal;  // cancelled when done

  void finish() {
    done = true;
    signal.cancel();
  }
};

}  // namespace

/// One connection: its socket, its reply parser and the callers waiting on it, in order.
struct RedisConnection {
  explicit RedisConnection(asio::any_io_executor executor) : plain(executor), deadline(executor) {}
  ~RedisConnection() {
    if (reader != nullptr) redisReaderFree(reader);
  }

  tcp::socket plain;  // the socket under TLS too (`tls` wraps it by reference)
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  redisReader* reader = redisReaderCreate();
  std::deque<std::shared_ptr<Pending>> pending;
  std::string to_write;  // bytes asked for and not written yet
  /// Callers' commands asked for before the handshake (AUTH, SELECT) succeeded: written only
  /// after it, so that none runs unauthenticated or in the wrong database.
  std::string held;
  bool open = false;     // connected (and TLS handshake done): the writer may write
  bool ready = false;    // the handshake succeeded: callers' commands are written at once
  bool writing = false;
  bool broken = false;
  asio::steady_timer deadline;  // the connect's
};

struct RedisClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, RedisUrl u, RedisClientOptions o)
      : executor(std::move(ex)), url(std::move(u)), options(std::move(o)) {
    if (url.tls) {
      tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      try {
        crypto::configure_client_tls(tls->native_handle(), options.ca_file);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("redis: ") + e.what());
      }
    }
  }

  asio::any_io_executor executor;
  RedisUrl url;
  RedisClientOptions options;
  std::unique_ptr<asio::ssl::context> tls;
  std::shared_ptr<RedisConnection> current;
  int failures_in_a_row = 0;
  Clock::time_point next_try{};
  std::uint64_t connections = 0;

  Error failure(std::string_view what) const {
    return Error{errc::store_failed, "redis at " + url.where() + ": " + std::string(what)};
  }

  /// Ends `conn`: every caller waiting on it fails with `error`; the next command connects again
  /// (after the backoff).
  void fail(const std::shared_ptr<RedisConnection>& conn, const Error& error) {
    if (conn->broken) return;
    conn->broken = true;
    error_code ignored;
    conn->plain.close(ignored);
    conn->deadline.cancel();
    for (auto& waiter : conn->pending) {
      waiter->error = error;
      waiter->finish();
    }
    conn->pending.clear();
    if (current == conn) {
      current.reset();
      ++failures_in_a_row;
      next_try = Clock::now() + backoff_delay(options.reconnect, failures_in_a_row, unit_random());
    }
  }

  /// The connection to write on: the current one, or a new one when the backoff allows.
  Result<std::shared_ptr<RedisConnection>> connection() {
    if (current) return current;
    if (failures_in_a_row > 0 && Clock::now() < next_try) {
      return failure("unreachable; the next try is after a backoff");
    }
    auto conn = std::make_shared<RedisConnection>(executor);
    if (conn->reader == nullptr) throw std::bad_alloc();
    current = conn;
    // AUTH and SELECT go first on the connection: what callers ask meanwhile queues behind them.
    std::vector<std::vector<std::string>> handshake;
    if (!url.password.empty()) {
      handshake.push_back(url.user.empty()
                              ? std::vector<std::string>{"AUTH", url.password}
                              : std::vector<std::string>{"AUTH", url.user, url.password});
    }
    if (url.db != 0) handshake.push_back({"SELECT", std::to_string(url.db)});
    handshake.push_back({"PING"});  // a handshake reply always comes: the connection is good
    auto waiter = std::make_shared<Pending>(executor, handshake.size());
    for (const auto& command : handshake) conn->to_write += format_command(command);
    conn->pending.push_back(waiter);
    asio::co_spawn(executor, open_connection(shared_from_this(), conn, waiter), asio::detached);
    return conn;
  }

  static asio::awaitable<void> open_connection(std::shared_ptr<Impl> self,
                                               std::shared_ptr<RedisConnection> conn,
                                               std::shared_ptr<Pending> handshake) {
    conn->deadline.expires_after(self->options.connect_timeout);
    conn->deadline.async_wait([weak = std::weak_ptr<RedisConnection>(conn)](error_code ec) {
      if (ec) return;
      if (auto c = weak.lock(); c && !c->open) {
        error_code ignored;
        c->plain.close(ignored);
      }
    });
    tcp::resolver resolver(self->executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(
        self->url.host, std::to_string(self->url.port), kNoError);
    if (resolve_ec) {
      self->fail(conn, self->failure("resolve: " + resolve_ec.message()));
      co_return;
    }
    auto [connect_ec, endpoint] = co_await asio::async_connect(conn->plain, endpoints, kNoError);
    if (connect_ec || conn->broken) {
      self->fail(conn, self->failure("connect: " + (connect_ec ? connect_ec.message()
                                                                 : std::string("timed out"))));
      co_return;
    }
    error_code ignored;
    conn->plain.set_option(tcp::no_delay(true), ignored);
    conn->plain.set_option(asio::socket_base::keep_alive(true), ignored);
    if (self->tls) {
      conn->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(conn->plain, *self->tls);
      // SNI, and the certificate must name the host (an IP address in the URL: its SAN IP).
      SSL_set_tlsext_host_name(conn->tls->native_handle(), self->url.host.c_str());
      conn->tls->set_verify_callback(asio::ssl::host_name_verification(self->url.host));
      auto [handshake_ec] =
          co_await conn->tls->async_handshake(asio::ssl::stream_base::client, kNoError);
      if (handshake_ec || conn->broken) {
        self->fail(conn, self->failure("TLS handshake: " + (handshake_ec
                                                                ? handshake_ec.message()
                                                                : std::string("timed out"))));
        co_return;
      }
    }
    conn->open = true;
    asio::co_spawn(self->executor, read_loop(self, conn), asio::detached);
    self->start_writing(conn);
    // The handshake's answers: an AUTH or SELECT refused ends the connection.
    if (!handshake->done) {
      handshake->signal.expires_after(self->options.connect_timeout);
      auto [wait_ec] = co_await handshake->signal.async_wait(kNoError);
      (void)wait_ec;
    }
    conn->deadline.cancel();
    if (!handshake->done) {
      self->fail(conn, self->failure("no answer to the handshake"));
      co_return;
    }
    if (handshake->error) co_return;  // the connection failed already
    for (const RedisReply& reply : handshake->replies) {
      if (reply.is_error()) {
        // The error's code only (WRONGPASS, NOAUTH, ERR): its text may quote the command.
        const std::string code = reply.text.substr(0, reply.text.find(' '));
        self->fail(conn, self->failure("the handshake (AUTH or SELECT) was refused: " + code));
        co_return;
      }
    }
    self->failures_in_a_row = 0;
    ++self->connections;
    conn->ready = true;
    conn->to_write += conn->held;
    conn->held.clear();
    self->start_writing(conn);
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<Impl> self,
                                         std::shared_ptr<RedisConnection> conn) {
    std::array<char, 16384> buffer;
    while (!conn->broken) {
      error_code ec;
      std::size_t n = 0;
      if (conn->tls) {
        std::tie(ec, n) = co_await conn->tls->async_read_some(asio::buffer(buffer), kNoError);
      } else {
        std::tie(ec, n) = co_await conn->plain.async_read_some(asio::buffer(buffer), kNoError);
      }
      if (conn->broken) co_return;
      if (ec) {
        self->fail(conn, self->failure(ec == asio::error::eof ? std::string("connection closed")
                                                              : "read: " + ec.message()));
        co_return;
      }
      if (redisReaderFeed(conn->reader, buffer.data(), n) != REDIS_OK) {
        self->fail(conn, self->failure("unreadable reply"));
        co_return;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(conn->reader, &raw) != REDIS_OK) {
          self->fail(conn, self->failure("unreadable reply"));
          co_return;
        }
        if (raw == nullptr) break;
        RedisReply reply = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        if (conn->pending.empty()) {
          self->fail(conn, self->failure("a reply nobody asked for"));
          co_return;
        }
        auto& waiter = conn->pending.front();
        waiter->replies.push_back(std::move(reply));
        if (waiter->replies.size() == waiter->expected) {
          waiter->finish();
          conn->pending.pop_front();
        }
      }
    }
  }

  void start_writing(const std::shared_ptr<RedisConnection>& conn) {
    if (!conn->open || conn->writing || conn->broken || conn->to_write.empty()) return;
    conn->writing = true;
    asio::co_spawn(executor, write_loop(shared_from_this(), conn), asio::detached);
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<Impl> self,
                                          std::shared_ptr<RedisConnection> conn) {
    std::string bytes;
    while (!conn->broken && !conn->to_write.empty()) {
      bytes.clear();
      std::swap(bytes, conn->to_write);
      error_code ec;
      if (conn->tls) {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(*conn->tls, asio::buffer(bytes), kNoError);
      } else {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(conn->plain, asio::buffer(bytes), kNoError);
      }
      if (ec) {
        self->fail(conn, self->failure("write: " + ec.message()));
        break;
      }
    }
    conn->writing = false;
  }

  asio::awaitable<Result<std::vector<RedisReply>>> run(
      const std::vector<std::vector<std::string>>& commands) {
    if (commands.empty()) co_return std::vector<RedisReply>{};
    auto conn = connection();
    if (!conn) co_return conn.error();
    std::shared_ptr<RedisConnection> c = *conn;
    auto waiter = std::make_shared<Pending>(executor, commands.size());
    std::string& bytes = c->ready ? c->to_write : c->held;
    for (const auto& command : commands) bytes += format_command(command);
    c->pending.push_back(waiter);
    start_writing(c);
    if (!waiter->done) {
      waiter->signal.expires_after(options.command_timeout);
      auto [ec] = co_await waiter->signal.async_wait(kNoError);
      (void)ec;
    }
    if (!waiter->done) fail(c, failure("no answer within the command timeout"));
    if (waiter->error) co_return *waiter->error;
    co_return std::move(waiter->replies);
  }
};

RedisClient::RedisClient(asio::any_io_executor executor, RedisUrl url, RedisClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(url), std::move(options))) {}

RedisClient::~RedisClient() { close(); }

asio::awaitable<Result<RedisReply>> RedisClient::command(std::vector<std::string> args) {
  std::vector<std::vector<std::string>> one;
  one.push_back(std::move(args));
  auto replies = co_await impl_->run(one);
  if (!replies) co_return replies.error();
  co_return std::move(replies->front());
}

asio::awaitable<Result<std::vector<RedisReply>>> RedisClient::pipeline(
    std::vector<std::vector<std::string>> commands) {
  co_return co_await impl_->run(commands);
}

void RedisClient::close() {
  if (auto conn = impl_->current) {
    impl_->current.reset();  // a close asked for is no failure: no backoff
    impl_->fail(conn, impl_->failure("connection closed by botgate"));
  }
}

std::uint64_t RedisClient::connections() const noexcept { return impl_->connections; }

const RedisUrl& RedisClient::url() const noexcept { return impl_->url; }

}  // namespace botgate::store
