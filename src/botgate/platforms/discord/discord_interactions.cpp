#include "botgate/platforms/discord/discord_interactions.hpp"

#include "botgate/platforms/common/ed25519_request.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/discord/discord_markup.hpp"
#include "botgate/platforms/discord/discord_snowflake.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <utility>

namespace botgate::discord {
namespace json = boost::json;
using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

namespace {

constexpr std::size_t kPublicKeyBytes = 32;

// https://discord.com/developers/docs/interactions/receiving-and-responding
namespace interaction_type {
constexpr std::int64_t ping = 1;
constexpr std::int64_t application_command = 2;
constexpr std::int64_t message_component = 3;
constexpr std::int64_t autocomplete = 4;
constexpr std::int64_t modal_submit = 5;
}  // namespace interaction_type

// Application command option types whose `options` hold the real arguments.
constexpr std::int64_t kSubCommand = 1;
constexpr std::int64_t kSubCommandGroup = 2;

HttpResponse json_ack(std::string body) { return make_response(http::status::ok, std::move(body)); }

/// A reply as the interaction response itself: {"type":4,"data":{message}}. Nothing for a
/// reply that cannot be one (an image without an http URL): the sender then reports its error.
std::optional<HttpResponse> inline_response(const OutgoingMessage& reply) {
  auto content = render_discord_content(reply.segments);
  if (!content || (content->content.empty() && content->image_urls.empty())) {
    return std::nullopt;
  }
  json::object response{{"type", 4}, {"data", discord_message_body(*content, false)}};
  return json_ack(json::serialize(response));
}

/// Notes 4.2: valid = Ed25519_Verify(public_key, timestamp || raw body, hex_decode(signature)),
/// the timestamp in Unix seconds. A non-canonical signature (S >= L) is refused as QQ's is: it
/// is never one Discord made, and OpenSSL's verify refuses it as well.
constexpr platforms::Ed25519RequestRules kSigningRules{.refuse_non_canonical = true,
                                                       .max_timestamp_digits = 20};

/// An option's value as the user typed it: strings (and the snowflakes of user, channel, role
/// and attachment options) as they are, integers and numbers in decimal, booleans as
/// true/false.
std::string value_text(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return std::string(value.get_string());
    case json::kind::int64:
      return std::to_string(value.get_int64());
    case json::kind::uint64:
      return std::to_string(value.get_uint64());
    case json::kind::double_: {
      // The shortest text that reads back as the same double: 0.5, 3, 1e+100.
      char buffer[32];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
      return ec == std::errc{} ? std::string(buffer, end) : std::string();
    }
    case json::kind::bool_:
      return value.get_bool() ? "true" : "false";
    default:
      return {};
  }
}

/// Appends " value" for every option in order, descending into sub-commands and sub-command
/// groups, which add their own name (so "/config set" and "/config get" stay apart).
void append_options(const json::object& parent, std::string& text) {
  const auto* options = parent.if_contains("options");
  if (options == nullptr || !options->is_array()) return;
  for (const json::value& item : options->get_array()) {
    if (!item.is_object()) continue;
    const json::object& option = item.get_object();
    const auto type = int_at(option, "type").value_or(0);
    if (type == kSubCommand || type == kSubCommandGroup) {
      text += " " + string_at(option, "name");
      append_options(option, text);
      continue;
    }
    if (const auto* value = option.if_contains("value")) {
      text += " " + value_text(*value);
    }
  }
}

/// An APPLICATION_COMMAND interaction as an event (notes 4.3 example). `member.user` in guilds,
/// `user` in DMs.
Result<Event> command_event(const json::object& interaction, const std::string& bot_name,
                            const std::string& application_id) {
  const std::string id = string_at(interaction, "id");
  const std::string token = string_at(interaction, "token");
  std::string channel_id = string_at(interaction, "channel_id");
  if (channel_id.empty()) {
    if (const auto* channel = object_at(interaction, "channel")) {
      channel_id = string_at(*channel, "id");
    }
  }
  const auto* data = object_at(interaction, "data");
  const std::string name = data != nullptr ? string_at(*data, "name") : std::string();
  if (id.empty() || token.empty() || channel_id.empty() || name.empty()) {
    return Error{errc::malformed_payload, "an application command without id, token, "
                                          "channel_id or data.name"};
  }

  Event event;
  event.platform = "discord";
  event.bot = bot_name;
  event.platform_event_id = id;
  event.time = snowflake_time(id);
  event.chat.id = std::move(channel_id);
  if (std::string guild_id = string_at(interaction, "guild_id"); !guild_id.empty()) {
    event.chat.type = ChatType::channel;
    event.chat.guild_id = std::move(guild_id);
  } else {
    event.chat.type = ChatType::private_chat;
  }
  const json::object* user = nullptr;
  if (const auto* member = object_at(interaction, "member")) user = object_at(*member, "user");
  if (user == nullptr) user = object_at(interaction, "user");
  if (user != nullptr) {
    event.sender.id = string_at(*user, "id");
    event.sender.name = string_at(*user, "username");
    const auto* is_bot = user->if_contains("bot");
    event.sender.is_bot = is_bot != nullptr && is_bot->is_bool() && is_bot->get_bool();
  }

  Message message;
  message.id = id;
  message.text = "/" + name;
  append_options(*data, message.text);
  message.segments.emplace_back(Text{message.text});
  // A command is always addressed to the bot.
  message.mentions_bot = true;
  event.message = std::move(message);
  event.reply_credential =
      std::string(kInteractionContextPrefix) + application_id + ":" + token;
  return event;
}

}  // namespace

DiscordInteractions::DiscordInteractions(const DiscordConfig& config)
    : bot_name_(config.bot_name),
      application_id_(config.application_id),
      public_key_(config.public_key) {
  if (public_key_.size() != kPublicKeyBytes) {
    throw std::invalid_argument("the Discord interactions endpoint needs a 32-byte public_key");
  }
}

Result<WebhookOutcome> DiscordInteractions::handle(const HttpRequest& request) const {
  if (request.method() != http::verb::post) {
    return Error{errc::malformed_payload, "interactions arrive by POST"};
  }
  // Verify first: nothing of an unsigned body is parsed (notes 4.1, pitfall 7).
  if (auto verified = platforms::verify_ed25519_request(request, public_key_, kSigningRules);
      !verified) {
    return verified.error();
  }
  auto interaction = parse_object(request.body());
  if (!interaction) {
    return Error{errc::malformed_payload, "the interaction is not a JSON object"};
  }
  // The key is the application's, but a body for another application was not meant for us.
  std::string application_id = string_at(*interaction, "application_id");
  if (!application_id_.empty() && !application_id.empty() && application_id != application_id_) {
    return Error{errc::bad_token, "the interaction is for application " + application_id};
  }
  if (application_id.empty()) application_id = application_id_;

  const auto type = int_at(*interaction, "type");
  if (!type) {
    return Error{errc::malformed_payload, "the interaction has no type"};
  }
  switch (*type) {
    case interaction_type::ping:
      // Notes 4.1: PONG, with Content-Type application/json.
      return WebhookOutcome{{}, json_ack(R"({"type":1})")};
    case interaction_type::application_command: {
      auto event = command_event(*interaction, bot_name_, application_id);
      if (!event) return event.error();
      WebhookOutcome outcome;
      outcome.events.push_back(std::move(*event));
      // Notes pitfall 6: answer within 3 s. A reply ready within the window is the response
      // itself (CHANNEL_MESSAGE_WITH_SOURCE); a slower one edits "thinking..." (the deferred
      // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE) later.
      outcome.ack = json_ack(R"({"type":5})");
      outcome.reply_window = kInlineReplyWindow;
      outcome.reply_ack = inline_response;
      return outcome;
    }
    case interaction_type::message_component:
    case interaction_type::modal_submit:
      // DEFERRED_UPDATE_MESSAGE: Discord stops the spinner and leaves the message as it is.
      return WebhookOutcome{{}, json_ack(R"({"type":6})")};
    case interaction_type::autocomplete:
      // APPLICATION_COMMAND_AUTOCOMPLETE_RESULT with no suggestions.
      return WebhookOutcome{{}, json_ack(R"({"type":8,"data":{"choices":[]}})")};
    default:
      return Error{errc::malformed_payload,
                   "unknown interaction type " + std::to_string(*type)};
  }
}

}  // namespace botgate::discord
