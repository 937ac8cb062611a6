// Runtime's outbox side: queued messages read into per-chat lanes and sent, with retries and
// backoff (see runtime_bot.hpp for how Runtime is split).
#include "botgate/core/runtime_bot.hpp"

#include "botgate/core/send_decision.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate {
namespace {

using Clock = std::chrono::system_clock;
/// The outbox worker reads due messages this many at a time (up to RuntimeOptions::outbox_held).
constexpr std::size_t kOutboxPage = 64;
/// How often the worker reads the queue again from its start, for messages it passed over
/// because they were not due then (retries left by a previous run).
constexpr std::chrono::seconds kFullScanEvery{1};
}  // namespace

asio::awaitable<void> Runtime::outbox_worker(Bot& bot) {
  using Steady = std::chrono::steady_clock;
  OutboxLanes& box = bot.outbox;
  const std::size_t concurrency = std::max<std::size_t>(options_.send_concurrency, 1);
  int prepare_attempt = 0;
  while (!stopping_) {
    if (!bot.ready) {
      take_arrived(box, bot.outbox_pushed, /*read_failed=*/true);  // read once ready
      if (box.in_flight > 0) {
        // The sends in flight end first (each settles its own message): prepare() never runs
        // beside a send that still uses the old token.
        co_await bot.outbox_signal.wait_for(std::chrono::seconds(60));
        continue;
      }
      auto prepared = co_await bot.parts.sender->prepare();
      if (!prepared) {
        ++prepare_attempt;
        const auto delay = backoff_delay(options_.send_backoff, prepare_attempt, unit_random());
        spdlog::warn("bot {}: not ready: {} (next try in {} ms)", bot.name,
                     prepared.error().message(), delay.count());
        bot.set_error(prepared.error().message());
        co_await bot.outbox_signal.wait_for(delay);
        continue;
      }
      prepare_attempt = 0;
      bot.set_error({});
      bot.ready = true;
      spdlog::info("bot {}: ready", bot.name);
    }

    bool read_failed = false;
    if (box.refill) {
      box.refill = false;
      if (!co_await refill_lanes(bot)) read_failed = true;
    }
    // Read what became due, on from what the lanes hold already.
    if (Steady::now() - box.last_full_scan >= kFullScanEvery) box.cursor = 0;
    const bool pushed = bot.outbox_pushed.exchange(false);
    if (box.cursor == 0 || box.more || pushed) {
      if (box.cursor == 0) {
        // A scan from the start meets every queued message of a chat in order again.
        box.last_full_scan = Steady::now();
        for (auto it = box.lanes.begin(); it != box.lanes.end();) {
          it->second.truncated = false;
          it = it->second.items.empty() ? box.lanes.erase(it) : std::next(it);
        }
      }
      const SystemTime now = Clock::now();
      while (box.held.size() < box.held_cap) {
        auto page = co_await store_.outbox_due(bot.name, now, kOutboxPage, box.cursor);
        if (!page) {
          spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, page.error().message());
          read_failed = true;
          break;
        }
        for (OutboxItem& item : *page) {
          box.cursor = std::max(box.cursor, item.id);
          if (box.held.contains(item.id)) continue;  // in its lane already, maybe in flight
          place_in_lane(box, item);
        }
        box.more = page->size() == kOutboxPage;
        if (!box.more) break;
      }
    }

    take_arrived(box, bot.outbox_pushed, read_failed);

    // Start the first message of each idle chat, oldest first, up to the concurrency.
    const auto now = Steady::now();
    if (bot.ready && box.in_flight < concurrency) {
      std::vector<std::pair<std::int64_t, const std::string*>> idle;
      for (const auto& [key, lane] : box.lanes) {
        if (!lane.sending && !lane.items.empty() && lane.held_until <= now) {
          idle.emplace_back(lane.items.front().id, &key);
        }
      }
      std::sort(idle.begin(), idle.end());
      for (const auto& [id, key] : idle) {
        if (box.in_flight >= concurrency) break;
        box.lanes.at(*key).sending = true;
        ++box.in_flight;
        asio::co_spawn(bot.strand, send_in_lane(bot, *key),
                       [name = bot.name](std::exception_ptr e) {
                         if (!e) return;
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::critical("bot {}: a send stopped on a bug: {}", name,
                                            ex.what());
                         }
                       });
      }
    }

    if (stopping_) break;
    if ((box.refill && !read_failed) || (!bot.ready && box.in_flight == 0)) continue;
    // Wait for a send to end, a message to be queued, a chat's retry time, or stop().
    auto deadline = now + std::chrono::seconds(60);
    for (const auto& [key, lane] : box.lanes) {
      if (!lane.sending && !lane.items.empty() && lane.held_until > now) {
        deadline = std::min(deadline, lane.held_until);
      }
    }
    if (read_failed) deadline = std::min(deadline, now + std::chrono::seconds(1));
    if (box.in_flight == 0) {
      // Messages not read yet may come due later (retries left by a previous run): read from
      // the start then, at most once per kFullScanEvery.
      auto next = co_await store_.outbox_next_due(bot.name);
      if (next && *next) {
        const auto in = std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(**next - Clock::now()),
            std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
        deadline = std::min(deadline, std::max(Steady::now() + in,
                                               box.last_full_scan + kFullScanEvery));
      }
    }
    co_await bot.outbox_signal.wait_until(deadline);
  }
  // Nothing accepted is lost: what is not sent stays queued in the store. The sends in flight
  // end first, since they use this bot and this runtime.
  while (box.in_flight > 0 || box.recording > 0) {
    co_await bot.outbox_signal.wait_for(std::chrono::seconds(1));
  }
}

asio::awaitable<bool> Runtime::refill_lanes(Bot& bot) {
  OutboxLanes& box = bot.outbox;
  std::vector<std::string> dry;
  for (const auto& [key, lane] : box.lanes) {
    if (lane.refill) dry.push_back(key);
  }
  const SystemTime now = Clock::now();
  for (const std::string& key : dry) {
    auto found = box.lanes.find(key);
    if (found == box.lanes.end() || !found->second.refill) continue;
    auto page = co_await store_.outbox_due_in_lane(bot.name, key, now, box.lane_depth,
                                                   found->second.last_id);
    if (!page) {
      spdlog::warn("bot {}: cannot read the outbox: {}", bot.name, page.error().message());
      box.refill = true;
      co_return false;
    }
    // Looked up again: the lanes changed while the store read.
    Lane& lane = box.lanes[key];
    lane.refill = false;
    lane.truncated = page->size() == box.lane_depth;
    for (OutboxItem& item : *page) {
      lane.last_id = std::max(lane.last_id, item.id);
      if (!box.held.insert(item.id).second) continue;
      lane.items.push_back(std::move(item));
    }
    if (lane.items.empty() && !lane.sending && !lane.truncated) box.lanes.erase(key);
  }
  co_return true;
}

asio::awaitable<void> Runtime::send_in_lane(Bot& bot, std::string key) {
  OutboxLanes& box = bot.outbox;
  // A sending lane is never erased, and its first message stays first (std::deque keeps
  // references to its elements across push_back).
  const OutboxItem& item = box.lanes.at(key).items.front();
  const Attempt attempt = co_await deliver(bot, item);
  Lane& lane = box.lanes.at(key);
  if (attempt.outcome == Attempt::retry) {
    // The chat's later messages wait with it; other chats go on.
    ++lane.items.front().attempts;
    lane.held_until = std::chrono::steady_clock::now() + attempt.retry_in;
  } else {
    if (attempt.outcome == Attempt::done) box.held.erase(lane.items.front().id);
    lane.items.pop_front();
  }
  lane.sending = false;
  if (lane.items.empty()) {
    if (lane.truncated) {
      // This chat's later messages are still in the store only.
      lane.refill = true;
      box.refill = true;
    } else {
      box.lanes.erase(key);
    }
  }
  --box.in_flight;
  bot.outbox_signal.notify();
}

asio::awaitable<Runtime::Attempt> Runtime::deliver(Bot& bot, const OutboxItem& item) {
  auto sent = co_await bot.parts.sender->send(item.message);
  if (sent) {
    ++bot.messages_sent;
    spdlog::info("bot {}: message {} sent to chat {} (platform id {})", bot.name, item.id,
                 item.message.chat_id, sent->platform_message_id);
    // The chat's next message need not wait for this outcome to be written: the platform has
    // this one already. Written alone, one small commit per reply was a fifth of a gateway
    // event's CPU; in the background it shares the store's next round with the other writes.
    ++bot.outbox.recording;
    asio::co_spawn(bot.strand, record_sent(bot, item.id, std::move(sent->platform_message_id)),
                   [name = bot.name](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::critical("bot {}: recording a sent message stopped on a bug: {}",
                                        name, ex.what());
                     }
                   });
    log_.delivery(item.message, bot.platform, LogOutcome::sent, "", item.attempts + 1);
    co_return Attempt{Attempt::recording};
  }
  const Error& error = sent.error();
  const int attempt = item.attempts + 1;
  const SendDecision decision = decide_after_failure(error, attempt, options_.max_send_attempts,
                                                     options_.send_backoff, unit_random());
  if (decision.kind == SendDecision::uncertain) {
    // Neither sent again (it may be there already, and the platform has no key to drop a copy)
    // nor counted as a failure (it may have arrived): recorded as what it is.
    ++bot.delivery_uncertain;
    spdlog::warn("bot {}: message {} to chat {} may or may not have been delivered (attempt {}); "
                 "not sent again: {}",
                 bot.name, item.id, item.message.chat_id, attempt, error.message());
    bot.set_error(error.message());
    (void)co_await store_.outbox_failed(item.id, error.message());
    log_.delivery(item.message, bot.platform, LogOutcome::failed, error.message(), attempt);
    co_return Attempt{Attempt::done};
  }
  if (decision.kind == SendDecision::failed) {
    ++bot.send_failures;
    spdlog::error("bot {}: message {} to chat {} failed after {} attempt(s): {}", bot.name,
                  item.id, item.message.chat_id, attempt, error.message());
    bot.set_error(error.message());
    (void)co_await store_.outbox_failed(item.id, error.message());
    log_.delivery(item.message, bot.platform, LogOutcome::failed, error.message(), attempt);
    co_return Attempt{Attempt::done};
  }
  const auto delay = decision.delay;
  spdlog::warn("bot {}: message {} to chat {} not sent ({}); retry {} in {} ms", bot.name, item.id,
               item.message.chat_id, error.message(), attempt, delay.count());
  if (error.is(errc::token_rejected) || error.is(errc::token_unavailable)) bot.ready = false;
  if (error.is(errc::rate_limited)) {
    ++bot.rate_limit_waits;
    bot.rate_limited_ms += static_cast<std::uint64_t>(delay.count());
  }
  (void)co_await store_.outbox_retry(item.id, Clock::now() + delay, error.message());
  log_.delivery(item.message, bot.platform, LogOutcome::retrying, error.message(), attempt);
  // The chat's later messages wait in its lane rather than overtake this one, and a platform
  // that asked us to slow down gets its pause in this chat.
  co_return Attempt{Attempt::retry, delay};
}

asio::awaitable<void> Runtime::record_sent(Bot& bot, std::int64_t id, std::string platform_id) {
  auto recorded = co_await store_.outbox_sent(id, std::move(platform_id));
  if (!recorded) {
    // Stays queued in the store: sent again after a restart or the next scan from the start,
    // the same as when the process stops between the send and this write.
    spdlog::error("bot {}: message {} was sent but the store could not record it: {}", bot.name,
                  id, recorded.error().message());
  }
  bot.outbox.held.erase(id);
  --bot.outbox.recording;
  bot.outbox_signal.notify();
}

}  // namespace botgate
