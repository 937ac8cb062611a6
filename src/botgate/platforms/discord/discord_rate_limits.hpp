#pragma once
/// Discord's REST rate limits for one bot (Discord notes section 6.2), in the way of D++:
/// per-route buckets learnt from the X-RateLimit-* headers and keyed by bucket id plus the
/// route's major parameter, a global pause after a global 429, a cap of 50 requests a second
/// across routes, and a budget of invalid requests (401, 403, 429) per 10 minutes so that a
/// misconfigured bot cannot get the host banned by Cloudflare (10 000 per IP).
///
/// Discord counts the global limit per bot, so every botgate instance on the store counts it
/// together: the 50 a second are uses of one store rate key (Store::rate_take), and a global 429
/// holds that key (Store::rate_hold) for every instance. The buckets stay this process's: the
/// answers that teach them come to the instance that sent, and a bucket's chat is sent to by
/// one instance at a time (the store's partitions); so does the invalid-request budget, which
/// Cloudflare counts per IP.
///
/// The bookkeeping of buckets, pauses and the budget is pure (every method takes `now`) and
/// testable without a clock; `acquire` is a thin awaitable around it and the store that waits
/// on a steady_timer when the wait is short, and returns `errc::rate_limited` with
/// `retry_after` when it is not, so that the outbox reschedules the message instead of holding
/// the bot.

#include "botgate/core/error.hpp"
#include "botgate/core/http.hpp"
#include "botgate/core/platform.hpp"
#include "botgate/core/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::discord {

namespace asio = boost::asio;

/// Identifies a route for rate limiting: method and path template, plus the value of its major
/// parameter (channel_id, guild_id, webhook_id + token), which separates buckets ("sending in
/// channel A does not consume channel B's budget").
struct RouteKey {
  /// "POST /channels/{channel_id}/messages": method and path with the parameters as names.
  std::string route;
  /// "123456789012345678"; empty for routes without a major parameter (GET /users/@me). For
  /// interaction webhooks a digest of the token, never the token itself.
  std::string major;

  bool operator==(const RouteKey&) const = default;
};

/// True for the interaction webhook and callback routes (a route template containing
/// "{interaction_token}"): Discord exempts them from the global limit.
bool is_interaction_route(std::string_view route) noexcept;

struct DiscordRateLimitOptions {
  /// A wait up to this long is spent in `acquire`; a longer one is returned as rate_limited.
  std::chrono::milliseconds max_wait{5000};
  /// "Global: 50 requests/s per bot (interaction endpoints exempt)", counted in the store over
  /// 1.1 s: the margin covers the time a request takes to reach Discord.
  std::size_t global_per_second = 50;
  /// Invalid requests (401, 403, and 429 unless X-RateLimit-Scope is shared) allowed in
  /// `invalid_window` before requests are refused. Cloudflare bans an IP at 10 000.
  std::size_t invalid_budget = 1000;
  std::chrono::milliseconds invalid_window{std::chrono::minutes(10)};
};

/// Why a request has to wait.
enum class RateLimitReason {
  none,            // it may go now
  bucket,          // the route's bucket is exhausted until its reset
  global_pause,    // a global 429 this process saw asked the whole bot to pause
  global,          // the store's count: 50 requests in the last second, or another
                   // instance's global 429
  invalid_budget,  // too many 401/403/429 answers in the last 10 minutes
};

/// "bucket", "global pause", ...
const char* to_string(RateLimitReason reason) noexcept;

/// The answer of `try_acquire`: go now (wait zero, one use taken) or wait (nothing taken).
struct Admission {
  std::chrono::milliseconds wait{0};
  RateLimitReason reason = RateLimitReason::none;

  bool admitted() const noexcept { return reason == RateLimitReason::none; }
};

/// How long a 429 asks to wait: the body's `retry_after` (seconds, may have decimals), else the
/// Retry-After header; nullopt when neither is readable.
std::optional<std::chrono::milliseconds> discord_retry_after(const HttpResponse& response);

/// Thread safety: every method may be called from any thread (a mutex guards the state); the
/// timers of `acquire` run on the executor given at construction (the bot's strand).
///
///   DiscordRateLimits limits(services.executor, services.store, global_key);
///   if (auto ok = co_await limits.acquire(route); !ok) co_return ok.error();
///   auto response = co_await http.send(url, request);
///   if (response) co_await limits.learn(route, *response);
class DiscordRateLimits {
 public:
  using Clock = std::chrono::steady_clock;

  /// `global_key`: the store rate key of the bot's global limit, the same for every instance
  /// that runs the bot (platforms::digest_rate_key of its token).
  DiscordRateLimits(asio::any_io_executor executor, Store& store, std::string global_key,
                    DiscordRateLimitOptions options = {});

  /// Pure admission control at `now`, without the store's global count: when `route` may go,
  /// takes one use of its bucket and answers admitted; otherwise takes nothing and answers how
  /// long to wait (at least 1 ms) and why. The longest of the applicable waits wins.
  Admission try_acquire(const RouteKey& route, Clock::time_point now);
  /// As try_acquire, but takes nothing either way.
  Admission check(const RouteKey& route, Clock::time_point now);

  /// Waits (steady_timer on the executor) until `route` may go, as long as the total wait
  /// stays within `max_wait`: its bucket and, unless it is an interaction route, one use of the
  /// bot's global limit in the store. A longer wait: errc::rate_limited with retry_after and a
  /// detail naming the reason and the route template (never the major parameter). A store
  /// that gives no answer: errc::rate_limited for a second (platforms::rate_unchecked); the
  /// request is not sent.
  asio::awaitable<Result<void>> acquire(const RouteKey& route);

  /// Learns from the answer to a request on `route`: the bucket id and its limit, remaining
  /// and reset-after; a 429's retry_after for the bucket or, when global, for every route that
  /// is not exempt; and 401/403/429 (except scope "shared") as invalid requests. Returns the
  /// pause a global 429 asked for, for learn() to share.
  std::optional<std::chrono::milliseconds> update(const RouteKey& route,
                                                  const HttpResponse& response,
                                                  Clock::time_point now = Clock::now());
  /// update(), and a global pause held in the store for every instance (Store::rate_hold).
  asio::awaitable<void> learn(const RouteKey& route, const HttpResponse& response);

  /// The invalid requests counted in the window that ends at `now`.
  std::size_t invalid_requests(Clock::time_point now);

  /// The waits `acquire` has sat out so far. Thread-safe.
  RateLimitWaits waits() const noexcept { return {waits_.load(), waited_ms_.load()}; }

  const DiscordRateLimitOptions& options() const noexcept { return options_; }

 private:
  struct Bucket {
    long limit = 0;
    long remaining = 0;
    Clock::time_point reset_at{};
    /// The last reset-after seen: the next window's length once this one has passed.
    Clock::duration window{};
  };

  std::string bucket_key(const RouteKey& route) const;
  Admission admit(const RouteKey& route, Clock::time_point now, bool take);
  void sweep(Clock::time_point now);

  asio::any_io_executor executor_;
  Store& store_;
  const std::string global_key_;
  const DiscordRateLimitOptions options_;
  std::mutex mutex_;  // guards everything below
  /// route template -> X-RateLimit-Bucket
  std::map<std::string, std::string, std::less<>> route_buckets_;
  /// bucket id (or route template before one is known) + "\n" + major -> state
  std::map<std::string, Bucket, std::less<>> buckets_;
  Clock::time_point global_until_{};       // a global 429's pause, as this process saw it
  std::deque<Clock::time_point> invalid_;  // invalid answers in the invalid window
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<std::uint64_t> waited_ms_{0};
};

}  // namespace botgate::discord
