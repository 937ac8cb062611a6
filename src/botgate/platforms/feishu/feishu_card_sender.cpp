// FeishuSender's streamed replies: a CardKit card entity that grows (feishu_card_stream.hpp).

#include "botgate/core/stream_send.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/stream_pacing.hpp"
#include "botgate/platforms/feishu/feishu_card_stream.hpp"
#include "botgate/platforms/feishu/feishu_sender.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;

// A card's 10 operations a second are shared by its updates and the final settings change: a
// rate limit all the same (another process on the card, a slow clock) is waited out this many
// times in a row before the outbox is left to try later.
constexpr int kRateLimitedInARow = 20;
// The longest wait for a rate limit inside one attempt; Feishu says seconds, a card's window is
// one second.
constexpr std::chrono::seconds kLongestRateWait{5};

// 300309 streaming mode is off; 200850 Feishu switched it off itself, 10 minutes after it was
// switched on: switched on again, the card takes updates again.
bool streaming_closed(const Error& error) {
  return error.is(errc::platform_rejected) &&
         (error.detail.starts_with("code 300309:") || error.detail.starts_with("code 200850:"));
}

}  // namespace

asio::awaitable<Result<std::string>> FeishuSender::create_card(const std::string& card_json) {
  json::object body{{"type", "card_json"}, {"data", card_json}};
  const std::string payload = json::serialize(body);
  const std::string url = config_.api_base + "/open-apis/cardkit/v1/cards";
  // Not idempotent: a card created twice leaves an entity nobody sees, but a retry is still not
  // made by the client, only by the outbox (which then creates the one that is used).
  net::RequestOptions options;
  auto create_with = [&](const std::string& token) -> asio::awaitable<Result<std::string>> {
    HttpRequest request = net::json_post(payload);
    request.set(http::field::authorization, "Bearer " + token);
    auto response = co_await http_.send(url, std::move(request), options);
    if (!response) co_return response.error();
    co_return read_card_created(*response);
  };
  co_return co_await net::call_with_token(tokens_, config_.bot_name, create_with);
}

asio::awaitable<Result<void>> FeishuSender::card_call(http::verb verb, const std::string& path,
                                                      const std::string& body) {
  const std::string url = config_.api_base + path;
  // Each operation carries a uuid: one that reaches Feishu twice is done once.
  net::RequestOptions options;
  options.idempotent = true;
  auto call_with = [&](const std::string& token) -> asio::awaitable<Result<void>> {
    HttpRequest request{verb, "/", 11};
    request.set(http::field::content_type, "application/json; charset=utf-8");
    request.set(http::field::authorization, "Bearer " + token);
    request.body() = body;
    request.prepare_payload();
    auto response = co_await http_.send(url, std::move(request), options);
    if (!response) co_return response.error();
    auto answered = read_send_response(*response);
    if (!answered) co_return answered.error();
    co_return Result<void>{};
  };
  co_return co_await net::call_with_token(tokens_, config_.bot_name, call_with);
}

asio::awaitable<Result<SentMessage>> FeishuSender::send_stream(const OutgoingMessage& message,
                                                               StreamFeed& feed) {
  auto saved_progress = parse_card_progress(feed.progress());
  if (!saved_progress && !feed.progress().empty()) {
    // An attempt before fell back to a plain message: go on with that.
    co_return co_await send_stream_whole(*this, message, feed);
  }
  // The text the card shows (unknown after a restart: the first update then sends it anyway).
  std::optional<std::string> on_card;
  std::uint64_t shown = 0;
  CardStreamProgress progress;
  if (saved_progress) {
    progress = std::move(*saved_progress);
  } else {
    // The card is made at the first text: a stream that ends empty makes nothing.
    StreamSnapshot first;
    for (;;) {
      auto next = co_await feed.next(shown);
      if (!next) co_return next.error();
      shown = next->version;
      if (!next->text.empty() || next->end != StreamEnd::open) {
        first = std::move(*next);
        break;
      }
    }
    if (first.text.empty()) co_return co_await send_stream_whole(*this, message, feed);
    const std::string initial = initial_card_text(first.text);
    const std::string card = streaming_card_json(initial);
    auto created = co_await create_card(card);
    if (!created) {
      if (is_retryable(created.error())) co_return created.error();
      spdlog::warn("bot {}: no streaming card ({}): the reply is sent as one message at its end",
                   config_.bot_name, created.error().message());
      // Kept, so that a retry of the plain message (its answer lost, say) does not try a card
      // again and show the reply twice: send_stream_whole's progress with no part sent yet.
      auto fell_back = co_await feed.save_progress("[]");
      if (!fell_back) co_return fell_back.error();
      co_return co_await send_stream_whole(*this, message, feed);
    }
    progress.card_id = std::move(*created);
    on_card = initial;
    auto saved = co_await feed.save_progress(to_json(progress));
    if (!saved) co_return saved.error();
  }

  if (progress.message_id.empty()) {
    json::object data{{"card_id", progress.card_id}};
    json::object reference{{"type", "card"}, {"data", std::move(data)}};
    const std::string content = json::serialize(reference);
    // The message's uuid is its key: sent again after a lost answer, Feishu answers with the
    // message it made the first time.
    auto sent = co_await post_message(message, "interactive", content);
    if (!sent) co_return sent.error();
    progress.message_id = sent->platform_message_id;
    auto saved = co_await feed.save_progress(to_json(progress));
    if (!saved) co_return saved.error();
  }

  // Sequences: above every one an attempt before may have used, reserved in blocks.
  std::int64_t sequence = progress.sequence;
  auto next_sequence = [&]() -> asio::awaitable<Result<std::int64_t>> {
    ++sequence;
    if (sequence > progress.sequence) {
      progress.sequence = sequence + kCardSequenceBlock - 1;
      auto saved = co_await feed.save_progress(to_json(progress));
      if (!saved) co_return saved.error();
    }
    co_return sequence;
  };
  const std::string card_path = "/open-apis/cardkit/v1/cards/" + progress.card_id;
  const std::string content_path =
      card_path + "/elements/" + std::string(kCardElementId) + "/content";
  auto content_op = [&](const std::string& text) -> asio::awaitable<Result<void>> {
    auto seq = co_await next_sequence();
    if (!seq) co_return seq.error();
    json::object body{{"content", text},
                      {"sequence", *seq},
                      {"uuid", card_op_uuid(message.idempotency_key, *seq)}};
    co_return co_await card_call(http::verb::put, content_path, json::serialize(body));
  };
  auto streaming_op = [&](bool on) -> asio::awaitable<Result<void>> {
    auto seq = co_await next_sequence();
    if (!seq) co_return seq.error();
    json::object body{{"settings", card_streaming_settings(on)},
                      {"sequence", *seq},
                      {"uuid", card_op_uuid(message.idempotency_key, *seq)}};
    co_return co_await card_call(http::verb::patch, card_path + "/settings", json::serialize(body));
  };
  // Waits out a rate limit; false when there were too many in a row.
  int limited = 0;
  auto wait_out = [&](const Error& error) -> asio::awaitable<bool> {
    if (++limited > kRateLimitedInARow) co_return false;
    const auto wait = std::min<std::chrono::milliseconds>(
        error.retry_after.value_or(kCardUpdateInterval), kLongestRateWait);
    co_await platforms::sleep_until(Clock::now() + wait);
    co_return true;
  };

  Clock::time_point last_op{};
  int reopened = 0;
  StreamEnd end = StreamEnd::open;
  for (;;) {
    auto next = co_await platforms::next_paced(feed, shown, last_op + kCardUpdateInterval);
    if (!next) co_return next.error();
    const std::string text = card_text(next->text);
    if (!text.empty() && text != on_card) {
      auto updated = co_await content_op(text);
      last_op = Clock::now();
      if (!updated && updated.error().is(errc::rate_limited)) {
        const bool waited = co_await wait_out(updated.error());
        if (!waited) co_return updated.error();
        continue;  // with the text as it stands then
      }
      if (!updated && streaming_closed(updated.error()) && reopened++ < 3) {
        auto reopen = co_await streaming_op(true);
        if (!reopen && !reopen.error().is(errc::rate_limited)) co_return reopen.error();
        last_op = Clock::now();
        continue;
      }
      if (!updated) co_return updated.error();
      on_card = text;
      limited = 0;
    }
    shown = next->version;
    if (next->end != StreamEnd::open) {
      end = next->end;
      break;
    }
  }

  // The end: streaming mode off, so that the chat list no longer says the reply is being written.
  for (;;) {
    co_await platforms::sleep_until(last_op + kCardUpdateInterval);
    auto closed = co_await streaming_op(false);
    last_op = Clock::now();
    if (closed) break;
    if (!closed.error().is(errc::rate_limited)) co_return closed.error();
    const bool waited = co_await wait_out(closed.error());
    if (!waited) co_return closed.error();
  }
  spdlog::debug("bot {}: streamed reply {} shown in card {} ({})", config_.bot_name,
                message.idempotency_key, progress.card_id, to_string(end));
  co_return SentMessage{progress.message_id};
}

}  // namespace botgate::feishu
