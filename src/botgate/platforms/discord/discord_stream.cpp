// DiscordSender's streamed replies (see discord_sender.hpp): a message sent once the stream has
// text, then edited as it grows, and further messages past 2,000 characters; to an interaction,
// its deferred response (@original) edited as it grows, and follow-ups past 2,000 characters.
#include "botgate/platforms/discord/discord_sender.hpp"

#include "botgate/core/stream_send.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/stream_pacing.hpp"
#include "botgate/platforms/discord/discord_interactions.hpp"
#include "botgate/platforms/discord/discord_markup.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace botgate::discord {
namespace json = boost::json;
namespace {

const char* const kCreateMessage = "POST /channels/{channel_id}/messages";
const char* const kEditMessage = "PATCH /channels/{channel_id}/messages/{message_id}";
/// Discord allows about 5 edits of a channel's messages in 5 s: one a second leaves room for the
/// chat's other replies.
constexpr std::chrono::milliseconds kEditInterval{1000};
/// An interaction's webhook is unknown to Discord (10015) until it has the interaction's first
/// response, "thinking...", which botgate writes when the inline reply window ends: a stream that
/// starts sooner tries its first edit again until then.
constexpr std::chrono::milliseconds kFirstResponseWait =
    kInlineReplyWindow + std::chrono::seconds(3);
constexpr std::chrono::milliseconds kFirstResponsePoll{250};
constexpr std::string_view kUnknownWebhook = "discord 10015:";

/// The stream's text as Discord shows it, cut into messages.
Result<std::vector<std::string>> pages_of(const OutgoingMessage& message, const std::string& text) {
  const OutgoingMessage whole = with_stream_text(message, text);
  auto content = render_discord_content(whole.segments);
  if (!content) return content.error();
  return split_discord_content(std::move(content->content));
}

json::object page_body(const std::string& page, bool reply) {
  DiscordContent content;
  content.content = page;
  return discord_message_body(content, reply);
}

}  // namespace

asio::awaitable<Result<std::string>> DiscordSender::create_page(const OutgoingMessage& message,
                                                                std::size_t index,
                                                                const std::string& page) {
  const bool reply = index == 0 && !message.reply_to.empty();
  json::object body = page_body(page, reply);
  if (reply) {
    body["message_reference"] =
        json::object{{"message_id", message.reply_to}, {"fail_if_not_exists", false}};
  }
  DiscordCall request;
  const std::string key =
      index == 0 ? message.idempotency_key : message.idempotency_key + "-" + std::to_string(index);
  if (std::string nonce = discord_nonce(key); !nonce.empty()) {
    body["nonce"] = nonce;
    body["enforce_nonce"] = true;
    request.idempotent = true;
  }
  request.method = http::verb::post;
  request.path = "/channels/" + net::percent_encode(message.chat_id) + "/messages";
  request.route = RouteKey{kCreateMessage, message.chat_id};
  request.body = json::serialize(body);
  auto response = co_await api_->call(request);
  if (!response) co_return response.error();
  boost::system::error_code ec;
  json::value created = json::parse(response->body(), ec);
  if (ec || !created.is_object() || !created.get_object().contains("id") ||
      !created.get_object().at("id").is_string()) {
    co_return Error{errc::platform_unavailable, "discord: a created message without an id"};
  }
  co_return std::string(created.get_object().at("id").get_string());
}

asio::awaitable<Result<void>> DiscordSender::edit_page(const OutgoingMessage& message,
                                                       const std::string& id,
                                                       const std::string& page) {
  DiscordCall request;
  request.method = http::verb::patch;
  request.path = "/channels/" + net::percent_encode(message.chat_id) + "/messages/" +
                 net::percent_encode(id);
  request.route = RouteKey{kEditMessage, message.chat_id};
  request.body = json::serialize(json::object{{"content", page}});
  request.idempotent = true;  // the same edit twice shows the same text
  auto response = co_await api_->call(request);
  if (!response) co_return response.error();
  co_return Result<void>{};
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_stream(const OutgoingMessage& message,
                                                               StreamFeed& feed) {
  if (auto interaction = parse_interaction_context(message.reply_credential)) {
    co_return co_await send_interaction_stream(message, *interaction, feed);
  }
  if (message.chat_id.empty()) co_return co_await send_stream_whole(*this, message, feed);
  std::vector<std::string> ids = sent_ids_of(feed.progress());
  // What each message shows, as far as this attempt knows: after a retry or a restart nothing
  // is known, and each message is edited once to be sure.
  std::vector<std::optional<std::string>> shown(ids.size());
  std::chrono::steady_clock::time_point last_render{};
  std::uint64_t seen = 0;
  for (;;) {
    // Changes that come faster than the edit interval are shown together.
    auto next = co_await platforms::next_paced(feed, seen, last_render + kEditInterval);
    if (!next) co_return next.error();
    seen = next->version;
    const bool ended = next->end != StreamEnd::open;
    if (ended && next->text.empty() && ids.empty()) {
      co_return Error{errc::platform_rejected, "the stream ended with no text: nothing to send"};
    }
    auto pages = pages_of(message, next->text);
    if (!pages) co_return pages.error();
    for (std::size_t i = 0; i < pages->size(); ++i) {
      const std::string& page = (*pages)[i];
      if (i < ids.size()) {
        if (shown[i] == page) continue;
        auto edited = co_await edit_page(message, ids[i], page);
        if (!edited) co_return edited.error();
      } else {
        auto created = co_await create_page(message, i, page);
        if (!created) co_return created.error();
        ids.push_back(std::move(*created));
        shown.emplace_back();
        // Kept before anything builds on it: a retry edits this message, never sends another.
        auto saved = co_await feed.save_progress(progress_of_sent_ids(ids));
        if (!saved) co_return saved.error();
      }
      shown[i] = page;
    }
    // A replaced text may be shorter than what was shown: the messages past its end go.
    while (ended && ids.size() > std::max<std::size_t>(pages->size(), 1)) {
      auto deleted = co_await recall(message, ids.back());
      if (!deleted) co_return deleted.error();
      ids.pop_back();
      shown.pop_back();
      auto saved = co_await feed.save_progress(progress_of_sent_ids(ids));
      if (!saved) co_return saved.error();
    }
    last_render = std::chrono::steady_clock::now();
    if (ended) co_return SentMessage{ids.front()};
  }
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_interaction_stream(
    const OutgoingMessage& message, const InteractionReply& interaction, StreamFeed& feed) {
  // The ids of what shows the stream: @original's (once it was edited), then the follow-ups'.
  std::vector<std::string> ids = sent_ids_of(feed.progress());
  // What @original shows, as far as this attempt knows (after a retry: nothing, edited once).
  std::optional<std::string> shown;
  std::chrono::steady_clock::time_point last_render{};
  std::uint64_t seen = 0;
  const auto acknowledged_by = std::chrono::steady_clock::now() + kFirstResponseWait;
  for (;;) {
    auto next = co_await platforms::next_paced(feed, seen, last_render + kEditInterval);
    if (!next) co_return next.error();
    seen = next->version;
    const bool ended = next->end != StreamEnd::open;
    if (ended && next->text.empty() && ids.empty()) {
      co_return Error{errc::platform_rejected, "the stream ended with no text: nothing to send"};
    }
    auto pages = pages_of(message, next->text);
    if (!pages) co_return pages.error();
    if (pages->empty()) {
      // No text (yet, or replaced by none): what is shown stays ("thinking..." at first).
      if (ended) co_return SentMessage{ids.front()};
      continue;
    }
    if (shown != pages->front()) {
      // The deferred response shows the first page as it grows.
      const std::string body = json::serialize(page_body(pages->front(), false));
      auto edited = co_await call_interaction(interaction, true, body);
      while (!edited && ids.empty() &&
             edited.error().detail.find(kUnknownWebhook) != std::string::npos &&
             std::chrono::steady_clock::now() < acknowledged_by) {
        asio::steady_timer pause(co_await asio::this_coro::executor, kFirstResponsePoll);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        edited = co_await call_interaction(interaction, true, body);
      }
      if (!edited) co_return edited.error();
      shown = pages->front();
      if (ids.empty()) {
        ids.push_back(std::move(edited->platform_message_id));
        auto saved = co_await feed.save_progress(progress_of_sent_ids(ids));
        if (!saved) co_return saved.error();
      }
    }
    // A follow-up cannot be edited with what answers an interaction here: each one goes once
    // its page is full (another page follows it) or the stream ended.
    const std::size_t complete = ended ? pages->size() : pages->size() - 1;
    for (std::size_t i = std::max<std::size_t>(ids.size(), 1); i < complete; ++i) {
      std::string body = json::serialize(page_body((*pages)[i], false));
      auto posted = co_await call_interaction(interaction, false, std::move(body));
      if (!posted) co_return posted.error();
      ids.push_back(std::move(posted->platform_message_id));
      // Kept before the next: a retry does not post this page again.
      auto saved = co_await feed.save_progress(progress_of_sent_ids(ids));
      if (!saved) co_return saved.error();
    }
    last_render = std::chrono::steady_clock::now();
    if (ended) co_return SentMessage{ids.front()};
  }
}

}  // namespace botgate::discord
