#include "botgate/platforms/discord/discord_rate_limits.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/shared_rate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace botgate::discord {
namespace {

using Clock = DiscordRateLimits::Clock;
using std::chrono::milliseconds;

// Buckets come and go with channels; expired ones are dropped once there are this many.
constexpr std::size_t kSweepAbove = 512;
// A 429 that says nothing readable about how long to wait.
constexpr milliseconds kDefaultRetryAfter{1000};
// The global limit's window: "50 requests per second", and a margin. Discord counts a request
// when it arrives, a little after the store counted it (the time to send it, which differs
// between requests and between instances): without the margin the 51st can arrive within the
// second of the first and meet a 429, which also counts as an invalid request.
constexpr milliseconds kGlobalWindow{1100};
// A retry_after beyond this is taken as garbage (Discord's own global waits are minutes).
constexpr double kMaxSeconds = 24 * 3600;

/// Seconds with optional decimals ("1", "0.345", "64.57"), as a duration; nullopt when not a
/// non-negative finite number of sane size.
std::optional<Clock::duration> seconds_from(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxSeconds) return std::nullopt;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::optional<double> number_from(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<Clock::duration> header_seconds(const HttpResponse& response, std::string_view name) {
  auto it = response.find(name);
  if (it == response.end()) return std::nullopt;
  auto value = number_from(it->value());
  if (!value) return std::nullopt;
  return seconds_from(*value);
}

std::optional<long> header_count(const HttpResponse& response, std::string_view name) {
  auto it = response.find(name);
  if (it == response.end()) return std::nullopt;
  const std::string_view text = it->value();
  long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<double> json_number(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

bool header_is_true(const HttpResponse& response, std::string_view name) {
  auto it = response.find(name);
  return it != response.end() && boost::beast::iequals(it->value(), "true");
}

milliseconds wait_until(Clock::time_point then, Clock::time_point now) {
  return std::max(std::chrono::ceil<milliseconds>(then - now), milliseconds(1));
}

}  // namespace

bool is_interaction_route(std::string_view route) noexcept {
  return route.find("{interaction_token}") != std::string_view::npos;
}

const char* to_string(RateLimitReason reason) noexcept {
  switch (reason) {
    case RateLimitReason::none: return "none";
    case RateLimitReason::bucket: return "bucket";
    case RateLimitReason::global_pause: return "global pause";
    case RateLimitReason::global: return "global limit";
    case RateLimitReason::invalid_budget: return "invalid request budget";
  }
  return "unknown";
}

std::optional<milliseconds> discord_retry_after(const HttpResponse& response) {
  std::optional<Clock::duration> wait;
  if (auto body = platforms::parse_object(response.body())) {
    if (auto seconds = json_number(*body, "retry_after")) wait = seconds_from(*seconds);
  }
  if (!wait) wait = header_seconds(response, "Retry-After");
  if (!wait) return std::nullopt;
  return std::chrono::ceil<milliseconds>(*wait);
}

DiscordRateLimits::DiscordRateLimits(asio::any_io_executor executor, Store& store,
                                     std::string global_key, DiscordRateLimitOptions options)
    : executor_(std::move(executor)),
      store_(store),
      global_key_(std::move(global_key)),
      options_(options) {}

std::string DiscordRateLimits::bucket_key(const RouteKey& route) const {
  // "Per-route buckets, keyed by X-RateLimit-Bucket plus the top-level resource". Until the
  // first answer names the bucket, the route template stands in for it.
  auto it = route_buckets_.find(route.route);
  const std::string& bucket = it != route_buckets_.end() ? it->second : route.route;
  return bucket + "\n" + route.major;
}

Admission DiscordRateLimits::try_acquire(const RouteKey& route, Clock::time_point now) {
  return admit(route, now, true);
}

Admission DiscordRateLimits::check(const RouteKey& route, Clock::time_point now) {
  return admit(route, now, false);
}

Admission DiscordRateLimits::admit(const RouteKey& route, Clock::time_point now, bool take) {
  std::lock_guard lock(mutex_);
  const bool exempt = is_interaction_route(route.route);
  Admission admission;
  auto consider = [&](Clock::time_point until, RateLimitReason reason) {
    if (until <= now) return;
    const milliseconds wait = wait_until(until, now);
    if (admission.admitted() || wait > admission.wait) admission = Admission{wait, reason};
  };

  // Invalid requests count per IP whatever the route, interaction webhooks included.
  while (!invalid_.empty() && invalid_.front() + options_.invalid_window <= now) {
    invalid_.pop_front();
  }
  if (options_.invalid_budget == 0 && !invalid_.empty()) {
    consider(now + options_.invalid_window, RateLimitReason::invalid_budget);
  } else if (options_.invalid_budget > 0 && invalid_.size() >= options_.invalid_budget) {
    // Frees when enough of the oldest leave the window to fall below the budget.
    const auto oldest = invalid_[invalid_.size() - options_.invalid_budget];
    consider(oldest + options_.invalid_window, RateLimitReason::invalid_budget);
  }

  if (!exempt) consider(global_until_, RateLimitReason::global_pause);

  auto bucket = buckets_.find(bucket_key(route));
  if (bucket != buckets_.end() && bucket->second.remaining <= 0) {
    consider(bucket->second.reset_at, RateLimitReason::bucket);
  }
  if (!admission.admitted() || !take) return admission;

  // Admitted: take one use of the bucket.
  if (bucket != buckets_.end()) {
    Bucket& b = bucket->second;
    if (b.reset_at <= now) {
      // The window passed without an answer telling us about the next one: assume it is as
      // long as the last and full again. The next answer corrects both.
      b.remaining = b.limit;
      if (b.window > Clock::duration::zero()) b.reset_at = now + b.window;
    }
    if (b.remaining > 0) --b.remaining;
  }
  return admission;
}

asio::awaitable<Result<void>> DiscordRateLimits::acquire(const RouteKey& route) {
  const Clock::time_point deadline = Clock::now() + options_.max_wait;
  const bool counted = !is_interaction_route(route.route);
  asio::steady_timer timer(executor_);
  for (;;) {
    Clock::time_point now = Clock::now();
    // What this process knows first (it costs no store call), then the bot's global count
    // among all the instances, then the bucket's use taken.
    Admission admission = check(route, now);
    if (admission.admitted() && counted) {
      auto global = co_await store_.rate_take(global_key_, options_.global_per_second,
                                              kGlobalWindow);
      if (!global) co_return platforms::rate_unchecked("the discord global limit", global.error());
      if (const std::optional<milliseconds>& wait = *global) {
        admission = Admission{*wait, RateLimitReason::global};
      }
      now = Clock::now();
    }
    // Another request of this bot may have taken the bucket's last use while the store
    // answered: then this one waits for it, and its global use goes unused (counted all the
    // same, which only slows the bot by one request).
    if (admission.admitted()) admission = try_acquire(route, now);
    if (admission.admitted()) co_return Result<void>{};
    if (now + admission.wait > deadline) {
      // The outbox reschedules the message: a long wait must not hold the bot's other sends.
      co_return Error{errc::rate_limited,
                      std::string("discord rate limit (") + to_string(admission.reason) +
                          ") on " + route.route,
                      admission.wait};
    }
    ++waits_;
    waited_ms_ += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(admission.wait).count());
    timer.expires_after(admission.wait);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return Error{errc::cancelled, "rate limit wait cancelled"};
  }
}

std::optional<milliseconds> DiscordRateLimits::update(const RouteKey& route,
                                                      const HttpResponse& response,
                                                      Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::optional<milliseconds> global_pause;
  const unsigned status = response.result_int();
  const std::string_view scope = response["X-RateLimit-Scope"];

  // "429s with X-RateLimit-Scope: shared don't count" toward the invalid request limit.
  if (status == 401 || status == 403 || (status == 429 && scope != "shared")) {
    invalid_.push_back(now);
  }

  if (auto it = response.find("X-RateLimit-Bucket"); it != response.end() && !it->value().empty()) {
    auto known = route_buckets_.find(route.route);
    if (known == route_buckets_.end()) {
      route_buckets_.emplace(route.route, std::string(it->value()));
    } else if (known->second != it->value()) {
      known->second = std::string(it->value());
    }
  }
  const auto limit = header_count(response, "X-RateLimit-Limit");
  const auto remaining = header_count(response, "X-RateLimit-Remaining");
  const auto reset_after = header_seconds(response, "X-RateLimit-Reset-After");
  if (limit && remaining && reset_after) {
    Bucket& b = buckets_[bucket_key(route)];
    b.limit = *limit;
    b.remaining = *remaining;
    b.reset_at = now + *reset_after;
    b.window = *reset_after;
  }

  if (status == 429) {
    const milliseconds wait = discord_retry_after(response).value_or(kDefaultRetryAfter);
    bool global = header_is_true(response, "X-RateLimit-Global") || scope == "global";
    if (auto body = platforms::parse_object(response.body())) {
      if (const auto* g = body->if_contains("global"); g != nullptr && g->is_bool()) {
        global = global || g->get_bool();
      }
    }
    if (global && !is_interaction_route(route.route)) {
      global_until_ = std::max(global_until_, now + wait);
      global_pause = wait;
    } else {
      Bucket& b = buckets_[bucket_key(route)];
      b.remaining = 0;
      b.reset_at = std::max(b.reset_at, now + wait);
    }
  }
  sweep(now);
  return global_pause;
}

asio::awaitable<void> DiscordRateLimits::learn(const RouteKey& route,
                                               const HttpResponse& response) {
  const std::optional<milliseconds> pause = update(route, response);
  if (!pause) co_return;
  // This process pauses already (update); the store tells the other instances, whose next
  // request would otherwise meet the same 429.
  auto held = co_await store_.rate_hold(global_key_, *pause);
  if (!held) {
    spdlog::warn("discord: cannot share a global rate limit pause of {} ms with the other "
                 "instances: {}", pause->count(), held.error().message());
  }
}

std::size_t DiscordRateLimits::invalid_requests(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  while (!invalid_.empty() && invalid_.front() + options_.invalid_window <= now) {
    invalid_.pop_front();
  }
  return invalid_.size();
}

void DiscordRateLimits::sweep(Clock::time_point now) {
  while (!invalid_.empty() && invalid_.front() + options_.invalid_window <= now) {
    invalid_.pop_front();
  }
  if (buckets_.size() <= kSweepAbove) return;
  // A bucket whose window has passed holds nothing that the next answer would not tell again.
  std::erase_if(buckets_, [now](const auto& entry) { return entry.second.reset_at <= now; });
}

}  // namespace botgate::discord
