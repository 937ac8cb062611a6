#include "botgate/platforms/discord/discord_sender.hpp"

#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/discord/discord_markup.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::discord {
namespace json = boost::json;
namespace {

using platforms::parse_object;
using platforms::string_at;

constexpr std::string_view kInteractionPrefix = "interaction:";
// "nonce + enforce_nonce: <= 25 chars".
constexpr std::size_t kMaxNonce = 25;
const char* const kChannelMessages = "POST /channels/{channel_id}/messages";
const char* const kEditOriginal =
    "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";
const char* const kFollowUp = "POST /webhooks/{application_id}/{interaction_token}";
// Deletes share the message route's major parameter (the channel) but have a bucket of their own.
const char* const kDeleteMessage = "DELETE /channels/{channel_id}/messages/{message_id}";
// "Unknown Message": deleted already (or never there).
constexpr std::string_view kUnknownMessage = "discord 10008:";

Result<DiscordContent> content_of(const OutgoingMessage& message) {
  auto content = render_discord_content(message.segments);
  if (!content) return content.error();
  if (content->content.empty() && content->image_urls.empty()) {
    // Discord would answer 50006; no need to spend a request on it.
    return Error{errc::platform_rejected, "discord: cannot send an empty message"};
  }
  if (content->image_urls.size() > kMaxEmbeds) {
    spdlog::warn("bot {}: message with {} images; Discord takes {}, the rest are dropped",
                 message.bot, content->image_urls.size(), kMaxEmbeds);
  }
  return content;
}

Result<SentMessage> sent_from(const HttpResponse& response) {
  SentMessage sent;
  // Only the id is kept of the message object Discord answers with: its tree lives in a stack
  // arena instead of an allocation per value.
  alignas(std::max_align_t) unsigned char arena_buffer[4096];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  if (auto body = parse_object(response.body(), json::storage_ptr(&arena))) {
    sent.platform_message_id = string_at(*body, "id");
  }
  return sent;
}

}  // namespace

std::optional<InteractionReply> parse_interaction_context(std::string_view reply_context) {
  if (!reply_context.starts_with(kInteractionPrefix)) return std::nullopt;
  reply_context.remove_prefix(kInteractionPrefix.size());
  const auto colon = reply_context.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == reply_context.size()) {
    return std::nullopt;
  }
  return InteractionReply{std::string(reply_context.substr(0, colon)),
                          std::string(reply_context.substr(colon + 1))};
}

std::string discord_nonce(std::string_view idempotency_key) {
  if (idempotency_key.size() <= kMaxNonce) return std::string(idempotency_key);
  return crypto::to_hex(crypto::sha256(idempotency_key)).substr(0, kMaxNonce);
}

DiscordSender::DiscordSender(std::shared_ptr<DiscordApi> api) : api_(std::move(api)) {}

DiscordSender::DiscordSender(DiscordConfig config, platforms::PlatformServices& services,
                             DiscordRateLimitOptions limits)
    : DiscordSender(std::make_shared<DiscordApi>(std::move(config), services, limits)) {}

asio::awaitable<Result<void>> DiscordSender::prepare() { co_return co_await api_->check_token(); }

std::vector<OutgoingMessage> DiscordSender::split(OutgoingMessage message) const {
  return split_discord_message(std::move(message));
}

asio::awaitable<Result<SentMessage>> DiscordSender::send(const OutgoingMessage& message) {
  if (auto interaction = parse_interaction_context(message.reply_credential)) {
    co_return co_await send_to_interaction(message, *interaction);
  }
  co_return co_await send_to_channel(message);
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_to_channel(
    const OutgoingMessage& message) {
  if (message.chat_id.empty()) {
    co_return Error{errc::platform_rejected, "discord: no channel id (chat_id) to send to"};
  }
  auto content = content_of(message);
  if (!content) co_return content.error();
  const bool reply = !message.reply_to.empty();
  json::object body = discord_message_body(*content, reply);
  if (reply) {
    // fail_if_not_exists false: a reply to a deleted message is still delivered, as a plain one.
    body["message_reference"] =
        json::object{{"message_id", message.reply_to}, {"fail_if_not_exists", false}};
  }
  // "Discord dedupes creates with the same nonce by the same author for a few minutes and
  // returns the existing message": a retry after a lost answer is not posted twice.
  DiscordCall request;
  if (std::string nonce = discord_nonce(message.idempotency_key); !nonce.empty()) {
    body["nonce"] = nonce;
    body["enforce_nonce"] = true;
    request.idempotent = true;
  }
  request.method = http::verb::post;
  request.path = "/channels/" + net::percent_encode(message.chat_id) + "/messages";
  request.route = RouteKey{kChannelMessages, message.chat_id};
  request.body = json::serialize(body);
  auto response = co_await api_->call(request);
  if (!response) co_return response.error();
  co_return sent_from(*response);
}

asio::awaitable<Result<SentMessage>> DiscordSender::send_to_interaction(
    const OutgoingMessage& message, const InteractionReply& interaction) {
  auto content = content_of(message);
  if (!content) co_return content.error();
  // The first reply to the event fills the deferred response ("thinking..."); the others
  // follow it. Editing is idempotent, so a retried first reply cannot show up twice.
  const bool first = message.idempotency_key.ends_with("-0");
  co_return co_await call_interaction(interaction, first,
                                      json::serialize(discord_message_body(*content, false)));
}

asio::awaitable<Result<SentMessage>> DiscordSender::call_interaction(
    const InteractionReply& interaction, bool original, std::string body) {
  const std::string webhook = "/webhooks/" + net::percent_encode(interaction.application_id) +
                              "/" + net::percent_encode(interaction.token);
  DiscordCall request;
  request.method = original ? http::verb::patch : http::verb::post;
  // An edit of @original twice shows the same message; a follow-up twice is two messages.
  request.idempotent = original;
  request.path = original ? webhook + "/messages/@original" : webhook;
  // The major parameter of webhook routes is webhook id + token; a digest stands in for the
  // token so that the limiter never holds it.
  request.route = RouteKey{original ? kEditOriginal : kFollowUp,
                           interaction.application_id + ":" +
                               crypto::to_hex(crypto::sha256(interaction.token)).substr(0, 16)};
  request.body = std::move(body);
  request.with_token = false;
  auto response = co_await api_->call(request);
  if (!response) co_return response.error();
  co_return sent_from(*response);
}

asio::awaitable<Result<void>> DiscordSender::recall(const OutgoingMessage& where,
                                                    const std::string& platform_message_id) {
  if (where.chat_id.empty() || platform_message_id.empty()) {
    co_return Error{errc::platform_rejected, "discord: no channel or message id to delete"};
  }
  DiscordCall request;
  request.method = http::verb::delete_;
  request.path = "/channels/" + net::percent_encode(where.chat_id) + "/messages/" +
                 net::percent_encode(platform_message_id);
  request.route = RouteKey{kDeleteMessage, where.chat_id};
  request.idempotent = true;  // a second delete finds it gone, which counts as done
  auto response = co_await api_->call(request);
  if (!response) {
    if (response.error().is(errc::platform_rejected) &&
        response.error().detail.find(kUnknownMessage) != std::string::npos) {
      co_return Result<void>{};
    }
    co_return response.error();
  }
  co_return Result<void>{};
}

}  // namespace botgate::discord
