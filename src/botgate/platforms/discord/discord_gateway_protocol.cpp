#include "botgate/platforms/discord/discord_gateway_protocol.hpp"

#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/discord/discord_snowflake.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <random>
#include <utility>

namespace botgate::discord {
namespace json = boost::json;
using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

namespace {

// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes
namespace op {
constexpr std::int64_t dispatch = 0;
constexpr std::int64_t heartbeat = 1;
constexpr std::int64_t identify = 2;
constexpr std::int64_t resume = 6;
constexpr std::int64_t reconnect = 7;
constexpr std::int64_t invalid_session = 9;
constexpr std::int64_t hello = 10;
constexpr std::int64_t heartbeat_ack = 11;
}  // namespace op

bool bool_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_front(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  return s;
}

std::string_view trim_back(std::string_view s) {
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view trim(std::string_view s) { return trim_back(trim_front(s)); }

/// The user id of a `<@ID>` or `<@!ID>` token at the start of `s`, and the token's length.
std::optional<std::pair<std::string_view, std::size_t>> user_mention_at(std::string_view s) {
  if (!s.starts_with("<@")) {
    return std::nullopt;
  }
  std::size_t pos = 2;
  if (pos < s.size() && s[pos] == '!') {
    ++pos;
  }
  const std::size_t digits = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    ++pos;
  }
  if (pos == digits || pos >= s.size() || s[pos] != '>') {
    return std::nullopt;
  }
  return std::pair{s.substr(digits, pos - digits), pos + 1};
}

struct MessageText {
  std::string text;
  std::vector<Segment> segments;
  bool mentions_bot = false;
};

/// Discord notes 5.2: the bot's own `<@ID>`/`<@!ID>` is removed (with the space after it) and the
/// text trimmed; other user mentions read "@name" and all become Mention segments.
MessageText split_mentions(std::string_view content, const json::object& message,
                           const std::string& bot_id) {
  auto name_of = [&](std::string_view id) {
    if (const json::array* mentions = array_at(message, "mentions")) {
      for (const json::value& m : *mentions) {
        if (m.is_object() && string_at(m.get_object(), "id") == id) {
          return string_at(m.get_object(), "username");
        }
      }
    }
    return std::string();
  };
  MessageText out;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) {
      out.segments.emplace_back(Text{std::move(pending)});
    }
    pending.clear();
  };
  std::size_t pos = 0;
  while (pos < content.size()) {
    const auto mention = content[pos] == '<' ? user_mention_at(content.substr(pos)) : std::nullopt;
    if (!mention) {
      pending += content[pos];
      out.text += content[pos];
      ++pos;
      continue;
    }
    const std::string id(mention->first);
    pos += mention->second;
    const std::string name = name_of(id);
    flush();
    out.segments.emplace_back(Mention{id, name});
    if (!bot_id.empty() && id == bot_id) {
      out.mentions_bot = true;
      if (pos < content.size() && content[pos] == ' ') {
        ++pos;
      }
    } else {
      out.text += "@" + (name.empty() ? id : name);
    }
  }
  flush();
  out.text = std::string(trim(out.text));
  // Trim the text pieces as the text was trimmed: the whitespace before the first and after the
  // last piece that shows in the text (the bot's mentions do not).
  auto is_bot_mention = [&](const Segment& s) {
    const auto* m = std::get_if<Mention>(&s);
    return m != nullptr && !bot_id.empty() && m->user_id == bot_id;
  };
  for (Segment& segment : out.segments) {
    if (auto* t = std::get_if<Text>(&segment)) {
      t->text = std::string(trim_front(t->text));
      if (!t->text.empty()) {
        break;
      }
    } else if (!is_bot_mention(segment)) {
      break;
    }
  }
  for (auto it = out.segments.rbegin(); it != out.segments.rend(); ++it) {
    if (auto* t = std::get_if<Text>(&*it)) {
      t->text = std::string(trim_back(t->text));
      if (!t->text.empty()) {
        break;
      }
    } else if (!is_bot_mention(*it)) {
      break;
    }
  }
  std::erase_if(out.segments, [](const Segment& s) {
    const auto* t = std::get_if<Text>(&s);
    return t != nullptr && t->text.empty();
  });
  return out;
}

}  // namespace

/// One received payload: `{"op":…,"d":…,"s":…,"t":…}`.
struct DiscordGatewayProtocol::Payload {
  std::int64_t opcode = -1;
  json::value data;
  std::optional<std::int64_t> sequence;
  std::string type;
};

DiscordGatewayProtocol::DiscordGatewayProtocol(DiscordGatewayOptions options)
    : options_(std::move(options)) {
  if (!options_.unit_random) {
    options_.unit_random = [engine = std::mt19937(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  session_.user_id = options_.bot_user_id;
}

void DiscordGatewayProtocol::restore(GatewaySession session) {
  session_ = std::move(session);
  if (session_.user_id.empty()) {
    session_.user_id = options_.bot_user_id;
  }
}

GatewaySession DiscordGatewayProtocol::session() const { return session_; }

std::vector<GatewayAction> DiscordGatewayProtocol::on_connected(std::string credential) {
  credential_ = std::move(credential);
  connection_over_ = false;
  awaiting_ack_ = false;
  return {};  // Discord speaks first: Hello
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_frame(std::string_view frame) {
  if (connection_over_) {
    return {};
  }
  auto object = parse_object(frame);
  const auto opcode = object ? int_at(*object, "op") : std::nullopt;
  if (!opcode) {
    // Skipped, not resumed: a resume replays from the last sequence, this frame included, so
    // the connection would come back to it forever. A sequence number it carries is taken.
    if (const auto sequence = object ? int_at(*object, "s") : std::nullopt;
        sequence && *sequence > session_.sequence) {
      session_.sequence = *sequence;
    }
    return {SkipFrame{object ? "gateway frame without an op" : "gateway frame is not a JSON object"}};
  }
  Payload payload;
  payload.opcode = *opcode;
  if (auto* d = object->if_contains("d")) {
    payload.data = std::move(*d);  // same storage: the event's tree is handed over, not copied
  }
  payload.sequence = int_at(*object, "s");
  payload.type = string_at(*object, "t");

  switch (payload.opcode) {
    case op::hello:
      return on_hello(payload);
    case op::dispatch:
      return on_dispatch(payload);
    case op::heartbeat:
      // "If Discord sends you {"op":1} send a beat immediately" (notes 3.1 step 4). It does not
      // change the ACK bookkeeping of the timer's beats.
      return {SendFrame{heartbeat_frame()}};
    case op::heartbeat_ack:
      awaiting_ack_ = false;
      return {};
    case op::reconnect:
      return end_connection(resume_action("Discord asked to reconnect (op 7)"));
    case op::invalid_session:
      return on_invalid_session(payload.data.is_bool() && payload.data.get_bool());
    default:
      return {};
  }
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_hello(const Payload& payload) {
  const auto* d = payload.data.if_object();
  const auto interval = d != nullptr ? int_at(*d, "heartbeat_interval") : std::nullopt;
  if (!interval || *interval <= 0) {
    return end_connection(resume_action("Hello without a heartbeat_interval"));
  }
  const std::chrono::milliseconds every(*interval);
  const auto first = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(*interval) * unit_random()));
  std::vector<GatewayAction> actions;
  actions.emplace_back(StartHeartbeat{every, first});
  actions.emplace_back(SendFrame{session_.resumable() ? resume_frame() : identify_frame()});
  return actions;
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_dispatch(const Payload& payload) {
  // Keep the last non-null `s` (notes 3.1); it goes into heartbeats and resume.
  if (payload.sequence && *payload.sequence > 0) {
    session_.sequence = *payload.sequence;
  }
  const auto* d = payload.data.if_object();
  if (payload.type == "READY" && d != nullptr) {
    session_.session_id = string_at(*d, "session_id");
    session_.resume_url = string_at(*d, "resume_gateway_url");
    if (const auto* user = object_at(*d, "user")) {
      session_.user_id = string_at(*user, "id");
    }
    return {SaveSession{session_}};
  }
  if (payload.type == "RESUMED") {
    return {SaveSession{session_}};
  }
  if (payload.type != "MESSAGE_CREATE" || d == nullptr) {
    return {};
  }
  // Only user messages (0 DEFAULT, 19 REPLY) are chat; joins, pins and the like are not.
  const auto type = int_at(*d, "type").value_or(0);
  if (type != 0 && type != 19) {
    return {};
  }
  const auto* author = object_at(*d, "author");
  const std::string message_id = string_at(*d, "id");
  const std::string channel_id = string_at(*d, "channel_id");
  if (author == nullptr || message_id.empty() || channel_id.empty()) {
    return {};
  }
  // Discord sends the bot its own messages too, every reply comes back once. They never need
  // handling (notes 5.2: never answer the bot itself), so they are not stored at all: in a busy
  // channel that is half of the store's work. Other bots' messages are events, marked below.
  if (!session_.user_id.empty() && string_at(*author, "id") == session_.user_id) {
    return {};
  }

  Event event;
  event.platform = "discord";
  event.bot = options_.bot_name;
  event.platform_event_id = message_id;
  event.time = snowflake_time(message_id);
  event.chat.id = channel_id;
  if (std::string guild_id = string_at(*d, "guild_id"); !guild_id.empty()) {
    event.chat.type = ChatType::channel;
    event.chat.guild_id = std::move(guild_id);
  } else {
    event.chat.type = ChatType::private_chat;
  }
  event.sender.id = string_at(*author, "id");
  event.sender.name = string_at(*author, "username");
  // Notes 5.2: never answer bots.
  event.sender.is_bot = bool_at(*author, "bot");

  const std::string& bot_id = session_.user_id;
  MessageText text = split_mentions(string_at(*d, "content"), *d, bot_id);
  Message message;
  message.id = message_id;
  message.text = std::move(text.text);
  message.segments = std::move(text.segments);
  message.mentions_bot = text.mentions_bot || event.chat.type == ChatType::private_chat;
  if (!bot_id.empty()) {
    if (const json::array* mentions = array_at(*d, "mentions")) {
      for (const json::value& m : *mentions) {
        if (m.is_object() && string_at(m.get_object(), "id") == bot_id) {
          message.mentions_bot = true;
        }
      }
    }
    // A reply to one of the bot's messages is addressed to it.
    if (const auto* referenced = object_at(*d, "referenced_message")) {
      if (const auto* to = object_at(*referenced, "author"); to && string_at(*to, "id") == bot_id) {
        message.mentions_bot = true;
      }
    }
  }
  if (const json::array* attachments = array_at(*d, "attachments")) {
    for (const json::value& a : *attachments) {
      if (a.is_object() && string_at(a.get_object(), "content_type").starts_with("image/")) {
        message.segments.emplace_back(Image{string_at(a.get_object(), "url")});
      }
    }
  }
  event.message = std::move(message);
  return {EmitEvent{std::move(event)}};
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_invalid_session(bool resumable) {
  if (resumable && session_.resumable()) {
    return end_connection(resume_action("Discord invalidated the session, resumable (op 9)"));
  }
  // Notes 3.3: the session is gone; wait a random 1-5 s, then identify on the main URL.
  const auto delay =
      std::chrono::milliseconds(1000 + static_cast<std::int64_t>(4000.0 * unit_random()));
  return end_connection(identify_action("Discord invalidated the session (op 9)", delay));
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_heartbeat_due() {
  if (connection_over_) {
    return {};
  }
  if (awaiting_ack_) {
    // Notes 3.1: no ACK since the previous beat means a zombie connection: close and resume.
    return end_connection(resume_action("heartbeat not acknowledged (zombie connection)"));
  }
  awaiting_ack_ = true;
  return {SendFrame{heartbeat_frame()}};
}

std::vector<GatewayAction> DiscordGatewayProtocol::on_closed(int close_code) {
  if (connection_over_) {
    return {};
  }
  const std::string code = "close code " + std::to_string(close_code);
  switch (close_code) {
    case 4004:
    case 4010:
    case 4011:
    case 4012:
    case 4013:
    case 4014:
      return end_connection(Fatal{fatal_reason(close_code)});
    case 4006:  // undocumented "session invalid" (discord-api-docs#1209): like op 9 false
    case 4007:  // invalid seq on resume
    case 4009:  // session timed out
      return end_connection(identify_action("Discord ended the session (" + code + ")",
                                            std::chrono::milliseconds(0)));
    default:
      // Everything else may resume, including 1000/1001 sent by the server (Cloudflare closes
      // idle connections with 1000; notes 3.3) and a connection lost without a close frame.
      if (close_code == kNoCloseCode) {
        return end_connection(resume_action("connection lost without a close frame"));
      }
      return end_connection(resume_action("Discord closed the connection (" + code + ")"));
  }
}

std::vector<GatewayAction> DiscordGatewayProtocol::end_connection(GatewayAction action) {
  connection_over_ = true;
  awaiting_ack_ = false;
  std::vector<GatewayAction> actions;
  actions.push_back(std::move(action));
  return actions;
}

Reconnect DiscordGatewayProtocol::resume_action(std::string reason) const {
  Reconnect r;
  r.resume = session_.resumable();
  r.reason = std::move(reason);
  // Notes 3.3: resume on resume_gateway_url; without a session there is nothing to resume.
  r.url = r.resume ? session_.resume_url : std::string();
  return r;
}

Reconnect DiscordGatewayProtocol::identify_action(std::string reason,
                                                  std::chrono::milliseconds delay) {
  session_.session_id.clear();
  session_.resume_url.clear();
  session_.sequence = 0;
  Reconnect r;
  r.resume = false;
  r.reason = std::move(reason);
  r.delay = delay;
  return r;
}

std::string DiscordGatewayProtocol::heartbeat_frame() const {
  json::object frame{{"op", op::heartbeat}, {"d", nullptr}};
  if (session_.sequence > 0) {
    frame["d"] = session_.sequence;
  }
  return json::serialize(frame);
}

std::string DiscordGatewayProtocol::identify_frame() const {
  json::object properties{{"os", options_.os}, {"browser", "botgate"}, {"device", "botgate"}};
  json::object d{{"token", credential_},
                 {"intents", options_.intents},
                 {"properties", std::move(properties)},
                 {"shard", json::array{options_.shard_id, options_.shard_count}}};
  json::object frame{{"op", op::identify}, {"d", std::move(d)}};
  return json::serialize(frame);
}

std::string DiscordGatewayProtocol::resume_frame() const {
  json::object d{
      {"token", credential_}, {"session_id", session_.session_id}, {"seq", session_.sequence}};
  json::object frame{{"op", op::resume}, {"d", std::move(d)}};
  return json::serialize(frame);
}

std::string DiscordGatewayProtocol::fatal_reason(int close_code) const {
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

double DiscordGatewayProtocol::unit_random() { return options_.unit_random(); }

}  // namespace botgate::discord
