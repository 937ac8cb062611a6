#include "botgate/platforms/discord/discord_gateway_protocol.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/mention_text.hpp"
#include "botgate/platforms/discord/discord_snowflake.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace botgate::discord {
namespace json = boost::json;
using platforms::array_at;
using platforms::bool_at;
using platforms::int_at;
using platforms::object_at;
using platforms::string_at;

namespace {

/// Discord's parts of the dialect.
class DiscordHooks final : public platforms::GatewayDialectHooks {
 public:
  explicit DiscordHooks(DiscordGatewayOptions options) : options_(std::move(options)) {}

  json::object identify_data(const std::string& credential) const override {
    json::object properties{{"os", options_.os}, {"browser", "botgate"}, {"device", "botgate"}};
    return json::object{{"token", credential},
                        {"intents", options_.intents},
                        {"properties", std::move(properties)},
                        {"shard", json::array{options_.shard_id, options_.shard_count}}};
  }

  platforms::CloseVerdict close_verdict(int close_code) const override {
    switch (close_code) {
      case 4004:
      case 4010:
      case 4011:
      case 4012:
      case 4013:
      case 4014:
        return platforms::CloseVerdict::fatal;
      case 4006:  // undocumented "session invalid" (discord-api-docs#1209): like op 9 false
      case 4007:  // invalid seq on resume
      case 4009:  // session timed out
        return platforms::CloseVerdict::identify;
      default:
        // Everything else may resume, including 1000/1001 sent by the server (Cloudflare closes
        // idle connections with 1000; notes 3.3).
        return platforms::CloseVerdict::resume;
    }
  }

  std::string fatal_reason(int close_code) const override;
  std::optional<Event> event_from_dispatch(
      const platforms::GatewayDispatch& dispatch) const override;

 private:
  DiscordGatewayOptions options_;
};

std::string DiscordHooks::fatal_reason(int close_code) const {
  constexpr std::string_view kPortal =
      "the Discord Developer Portal (https://discord.com/developers/applications)";
  std::string reason =
      "Discord refused the gateway connection (close code " + std::to_string(close_code) + "): ";
  switch (close_code) {
    case 4004:
      return reason + "authentication failed. The bot token is wrong or was reset: copy a new " +
             "token from the Bot page of " + std::string(kPortal) + " into `token`.";
    case 4010:
      return reason + "invalid shard. Check `shards` and `shard_count`: every shard id must be " +
             "below shard_count (this connection used [" + std::to_string(options_.shard_id) +
             ", " + std::to_string(options_.shard_count) + "]).";
    case 4011:
      return reason + "sharding required. The bot is in too many guilds for one connection: " +
             "raise `shard_count` (GET /gateway/bot says how many shards Discord recommends).";
    case 4012:
      return reason + "invalid API version. botgate speaks gateway v10; this is a botgate bug.";
    case 4013:
      return reason + "invalid intents. Check the names in `intents`.";
    default: {
      std::string wanted;
      for (const DiscordIntent& intent : privileged_discord_intents(options_.intents)) {
        wanted += (wanted.empty() ? "" : ", ") + std::string(intent.portal_label) + " (" +
                  std::string(intent.name) + ")";
      }
      if (wanted.empty()) {
        wanted = "the privileged intents the bot requests";
      }
      return reason + "disallowed intents. Enable " + wanted + " on the Bot page of " +
             std::string(kPortal) + ", or remove them from `intents`.";
    }
  }
}

std::optional<Event> DiscordHooks::event_from_dispatch(
    const platforms::GatewayDispatch& dispatch) const {
  if (dispatch.type != "MESSAGE_CREATE") {
    return std::nullopt;
  }
  const json::object& d = dispatch.data;
  // Only user messages (0 DEFAULT, 19 REPLY) are chat; joins, pins and the like are not.
  const auto type = int_at(d, "type").value_or(0);
  if (type != 0 && type != 19) {
    return std::nullopt;
  }
  const auto* author = object_at(d, "author");
  const std::string message_id = string_at(d, "id");
  const std::string channel_id = string_at(d, "channel_id");
  if (author == nullptr || message_id.empty() || channel_id.empty()) {
    return std::nullopt;
  }
  const std::string& bot_id = dispatch.bot_user_id;
  // Discord sends the bot its own messages too, every reply comes back once. They never need
  // handling (notes 5.2: never answer the bot itself), so they are not stored at all: in a busy
  // channel that is half of the store's work. Other bots' messages are events, marked below.
  if (!bot_id.empty() && string_at(*author, "id") == bot_id) {
    return std::nullopt;
  }

  Event event;
  event.platform = "discord";
  event.bot = options_.bot_name;
  event.platform_event_id = message_id;
  event.time = snowflake_time(message_id);
  event.chat.id = channel_id;
  if (std::string guild_id = string_at(d, "guild_id"); !guild_id.empty()) {
    event.chat.type = ChatType::channel;
    event.chat.guild_id = std::move(guild_id);
  } else {
    event.chat.type = ChatType::private_chat;
  }
  event.sender.id = string_at(*author, "id");
  event.sender.name = string_at(*author, "username");
  // Notes 5.2: never answer bots.
  event.sender.is_bot = bool_at(*author, "bot");

  platforms::MentionText text =
      platforms::split_mentions(string_at(d, "content"), d, bot_id, platforms::MentionSyntax{});
  Message message;
  message.id = message_id;
  message.text = std::move(text.text);
  message.segments = std::move(text.segments);
  message.mentions_bot = text.mentions_bot || event.chat.type == ChatType::private_chat;
  if (!bot_id.empty()) {
    // A reply to one of the bot's messages is addressed to it.
    if (const auto* referenced = object_at(d, "referenced_message")) {
      if (const auto* to = object_at(*referenced, "author"); to && string_at(*to, "id") == bot_id) {
        message.mentions_bot = true;
      }
    }
  }
  if (const json::array* attachments = array_at(d, "attachments")) {
    for (const json::value& a : *attachments) {
      if (a.is_object() && string_at(a.get_object(), "content_type").starts_with("image/")) {
        message.segments.emplace_back(Image{string_at(a.get_object(), "url")});
      }
    }
  }
  event.message = std::move(message);
  return event;
}

}  // namespace

DiscordGatewayProtocol::DiscordGatewayProtocol(DiscordGatewayOptions options)
    : GatewayDialect({.platform_label = "Discord",
                      .resume_url_in_ready = true,
                      .bot_user_id = options.bot_user_id,
                      .unit_random = options.unit_random},
                     std::make_unique<DiscordHooks>(options)) {}

}  // namespace botgate::discord
