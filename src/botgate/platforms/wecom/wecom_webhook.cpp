#include "botgate/platforms/wecom/wecom_webhook.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/wecom/wecom_xml.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <chrono>

namespace botgate::wecom {
namespace json = boost::json;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;
namespace {

constexpr std::string_view kPlatform = "wecom";

/// doc 90238: "直接回复空串": an empty 200 tells WeCom the message arrived and no passive reply
/// follows; the answer goes out through the API. AI bots accept it too (doc 101031).
HttpResponse empty_ack() { return make_response(http::status::ok, "", "text/plain"); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_front(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string trim(std::string_view s) {
  s = trim_front(s);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

/// The length of the separator at the start of `s` (ASCII whitespace, U+2005, U+00A0,
/// U+3000), or 0.
std::size_t separator_at(std::string_view s) {
  if (s.empty()) return 0;
  if (is_space(s[0])) return 1;
  if (s.starts_with("\u2005") || s.starts_with("\u3000")) return 3;
  if (s.starts_with("\u00a0")) return 2;
  return 0;
}

std::chrono::system_clock::time_point time_from_seconds(std::string_view seconds) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(seconds.data(), seconds.data() + seconds.size(), value);
  if (ec != std::errc{} || end != seconds.data() + seconds.size() || value <= 0) {
    return std::chrono::system_clock::now();
  }
  return to_system_time(std::chrono::seconds(value)).value_or(std::chrono::system_clock::now());
}

/// The text and images of a message, before mention stripping.
struct Body {
  std::string text;
  std::vector<std::string> image_urls;
};

void finish_message(Event& event, Body body, std::string id, const WecomConfig& config) {
  Message m;
  m.id = std::move(id);
  const bool in_group = event.chat.type == ChatType::group;
  m.text = strip_leading_mention(body.text, config.mention_name, in_group);
  if (!m.text.empty()) m.segments.emplace_back(Text{m.text});
  for (std::string& url : body.image_urls) m.segments.emplace_back(Image{std::move(url)});
  // WeCom pushes only what is addressed to the bot: group messages that @ it, single chats.
  m.mentions_bot = true;
  event.message = std::move(m);
}

Event new_event(const WecomConfig& config) {
  Event event;
  event.platform = std::string(kPlatform);
  event.bot = config.bot_name;
  event.time = std::chrono::system_clock::now();
  return event;
}

/// A group bot's message: <xml><WebhookUrl/><ChatId/><ChatType/><From><UserId/><Name/></From>
/// <MsgType/><Text><Content/></Text><MsgId/></xml> (wecom.md §3.2).
Result<WebhookOutcome> group_message(const XmlElement& xml, const WecomConfig& config) {
  const std::string type = xml.text_at("MsgType");
  Body body;
  if (type == "text") {
    body.text = xml.text_at("Text/Content");
  } else if (type == "image") {
    body.image_urls.push_back(xml.text_at("Image/ImageUrl"));
  } else if (type == "mixed") {
    if (const XmlElement* mixed = xml.child("MixedMessage")) {
      for (const XmlElement& item : mixed->children) {
        const std::string item_type = item.text_at("MsgType");
        if (item_type == "text") {
          if (!body.text.empty()) body.text += '\n';
          body.text += item.text_at("Text/Content");
        } else if (item_type == "image") {
          body.image_urls.push_back(item.text_at("Image/ImageUrl"));
        }
      }
    }
  } else {
    // Events (add_to_chat, enter_chat...), button clicks and newer message types: acknowledged
    // and ignored, so that WeCom does not retry them.
    return WebhookOutcome{{}, empty_ack()};
  }
  Event event = new_event(config);
  const std::string msg_id = xml.text_at("MsgId");
  event.sender.id = xml.text_at("From/UserId");
  event.sender.name = xml.text_at("From/Name");
  if (msg_id.empty() || event.sender.id.empty()) {
    return Error{errc::malformed_payload, "group bot message without MsgId or From/UserId"};
  }
  event.platform_event_id = msg_id;
  event.chat.type = xml.text_at("ChatType") == "group" ? ChatType::group : ChatType::private_chat;
  event.chat.id = xml.text_at("ChatId");
  if (event.chat.id.empty()) event.chat.id = event.sender.id;
  // The webhook that answers this chat: replies go there (it may differ from webhook_url).
  event.reply_credential = xml.text_at("WebhookUrl");
  finish_message(event, std::move(body), msg_id, config);
  return WebhookOutcome{{std::move(event)}, empty_ack()};
}

/// A self-built app's message: <xml><ToUserName/><FromUserName/><CreateTime/><MsgType/>
/// <Content/><MsgId/><AgentID/></xml> (doc 90238).
Result<WebhookOutcome> app_message(const XmlElement& xml, const WecomConfig& config) {
  const std::string agent_id = xml.text_at("AgentID");
  if (!agent_id.empty() && config.agent_id != 0 && agent_id != std::to_string(config.agent_id)) {
    return WebhookOutcome{{}, empty_ack()};  // one callback URL may serve several apps: not ours
  }
  const std::string type = xml.text_at("MsgType");
  Body body;
  if (type == "text") {
    body.text = xml.text_at("Content");
  } else if (type == "image") {
    body.image_urls.push_back(xml.text_at("PicUrl"));
  } else {
    return WebhookOutcome{{}, empty_ack()};  // events, voice, location...: not handled
  }
  Event event = new_event(config);
  const std::string msg_id = xml.text_at("MsgId");
  event.sender.id = xml.text_at("FromUserName");
  if (msg_id.empty() || event.sender.id.empty()) {
    return Error{errc::malformed_payload, "app message without MsgId or FromUserName"};
  }
  event.platform_event_id = msg_id;
  event.time = time_from_seconds(xml.text_at("CreateTime"));
  event.chat.type = ChatType::private_chat;
  event.chat.id = event.sender.id;  // message/send answers with touser = FromUserName
  finish_message(event, std::move(body), msg_id, config);
  return WebhookOutcome{{std::move(event)}, empty_ack()};
}

}  // namespace

Result<std::optional<Event>> read_aibot_message(const json::object& o, const WecomConfig& config) {
  const std::string type = string_at(o, "msgtype");
  Body body;
  auto content_of = [](const json::object& item, std::string_view kind, std::string_view key) {
    const json::object* inner = object_at(item, kind);
    return inner ? string_at(*inner, key) : std::string();
  };
  if (type == "text") {
    body.text = content_of(o, "text", "content");
  } else if (type == "voice") {
    body.text = content_of(o, "voice", "content");  // WeCom's speech-to-text
  } else if (type == "image") {
    body.image_urls.push_back(content_of(o, "image", "url"));
  } else if (type == "mixed") {
    const json::object* mixed = object_at(o, "mixed");
    const json::value* items = mixed ? mixed->if_contains("msg_item") : nullptr;
    if (items != nullptr && items->is_array()) {
      for (const json::value& item : items->get_array()) {
        if (!item.is_object()) continue;
        const std::string item_type = string_at(item.get_object(), "msgtype");
        if (item_type == "text") {
          if (!body.text.empty()) body.text += '\n';
          body.text += content_of(item.get_object(), "text", "content");
        } else if (item_type == "image") {
          body.image_urls.push_back(content_of(item.get_object(), "image", "url"));
        }
      }
    }
  } else {
    // Stream refreshes (answered by the webhook from its passive streams), events, files.
    return std::optional<Event>{};
  }
  Event event = new_event(config);
  const std::string msg_id = string_at(o, "msgid");
  if (const json::object* from = object_at(o, "from")) event.sender.id = string_at(*from, "userid");
  if (msg_id.empty() || event.sender.id.empty()) {
    return Error{errc::malformed_payload, "AI bot message without msgid or from.userid"};
  }
  event.platform_event_id = msg_id;
  event.chat.type =
      string_at(o, "chattype") == "group" ? ChatType::group : ChatType::private_chat;
  event.chat.id = string_at(o, "chatid");
  if (event.chat.id.empty()) event.chat.id = event.sender.id;
  // Usable once, for an hour (doc 101138): the sender answers there.
  event.reply_credential = string_at(o, "response_url");
  finish_message(event, std::move(body), msg_id, config);
  return std::optional<Event>{std::move(event)};
}

namespace {

/// The base64 ciphertext of a POST body: <xml><Encrypt>..</Encrypt>..</xml> or {"encrypt":".."}.
Result<std::string> encrypted_field(std::string_view body) {
  body = trim_front(body);
  if (body.starts_with("<")) {
    auto xml = parse_xml(body);
    if (!xml) return xml.error();
    if (xml->name != "xml") return Error{errc::malformed_payload, "root element is not <xml>"};
    std::string encrypted = trim(xml->text_at("Encrypt"));
    if (encrypted.empty()) return Error{errc::malformed_payload, "no <Encrypt> element"};
    return encrypted;
  }
  if (body.starts_with("{")) {
    auto o = parse_object(body);
    if (!o) return Error{errc::malformed_payload, "body is not a JSON object"};
    std::string encrypted = string_at(*o, "encrypt");
    if (encrypted.empty()) return Error{errc::malformed_payload, "no \"encrypt\" string"};
    return encrypted;
  }
  return Error{errc::malformed_payload, "body is neither XML nor JSON"};
}

}  // namespace

std::string strip_leading_mention(std::string_view text, std::string_view mention_name,
                                  bool in_group) {
  std::string_view rest = trim_front(text);
  if (!rest.starts_with('@')) return trim(rest);
  std::string_view after = rest.substr(1);
  if (!mention_name.empty()) {
    if (!after.starts_with(mention_name)) return trim(rest);
    after.remove_prefix(mention_name.size());
    if (!after.empty() && separator_at(after) == 0) return trim(rest);  // "@RobotAB": another name
  } else {
    if (!in_group) return trim(rest);
    while (!after.empty() && separator_at(after) == 0) after.remove_prefix(1);
  }
  while (std::size_t n = separator_at(after)) after.remove_prefix(n);
  return trim(after);
}

WecomWebhook::WecomWebhook(WecomConfig config, std::shared_ptr<AibotPassiveStreams> passive)
    : config_(std::move(config)),
      crypto_(config_.token, config_.aes_key, config_.corp_id),
      passive_(std::move(passive)) {}

Result<HttpResponse> WecomWebhook::passive_reply(const json::object& reply,
                                                 std::string_view nonce) const {
  auto encrypted = crypto_.encrypt(json::serialize(reply));
  if (!encrypted) return encrypted.error();
  const auto timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const std::string signature = crypto_.sign(std::to_string(timestamp), nonce, *encrypted);
  json::object envelope{{"encrypt", *encrypted},
                        {"msgsignature", signature},
                        {"timestamp", timestamp},
                        {"nonce", nonce}};
  return make_response(http::status::ok, json::serialize(envelope), "application/json");
}

Result<WebhookOutcome> WecomWebhook::aibot_callback(const json::object& o,
                                                    std::string_view nonce) const {
  const auto now = AibotPassiveStreams::Clock::now();
  if (passive_ && string_at(o, "msgtype") == "stream") {
    // A stream refresh: WeCom asks what the stream opened for a message shows now.
    const json::object* stream = object_at(o, "stream");
    const std::string id = stream ? string_at(*stream, "id") : std::string();
    if (id.empty()) return Error{errc::malformed_payload, "stream refresh without stream.id"};
    AibotPassiveStreams::Answer answer = passive_->refresh(id, now);
    json::object inner{{"id", id}, {"finish", answer.finish}, {"content", std::move(answer.content)}};
    json::object reply{{"msgtype", "stream"}, {"stream", std::move(inner)}};
    auto ack = passive_reply(reply, nonce);
    if (!ack) return ack.error();
    return WebhookOutcome{{}, std::move(*ack)};
  }
  auto event = read_aibot_message(o, config_);
  if (!event) return event.error();
  WebhookOutcome outcome{{}, empty_ack()};
  if (!*event) return outcome;
  if (passive_ && !(*event)->reply_credential.empty()) {
    // Sent only once the message is durable (the runtime answers 503 otherwise, and WeCom
    // pushes it again): from then on WeCom shows the bot answering, and asks for the reply.
    const std::string id = AibotPassiveStreams::stream_id_for((*event)->reply_credential);
    passive_->opened(id, now);
    json::object inner{{"id", id}, {"finish", false}, {"content", ""}};
    json::object reply{{"msgtype", "stream"}, {"stream", std::move(inner)}};
    auto ack = passive_reply(reply, nonce);
    if (!ack) return ack.error();
    outcome.ack = std::move(*ack);
  }
  outcome.events.push_back(std::move(**event));
  return outcome;
}

Result<WebhookOutcome> WecomWebhook::handle(const HttpRequest& request) const {
  const std::string_view target = request.target();
  const std::string signature = net::query_param(target, "msg_signature").value_or("");
  const std::string timestamp = net::query_param(target, "timestamp").value_or("");
  const std::string nonce = net::query_param(target, "nonce").value_or("");

  if (request.method() == http::verb::get) {
    // URL verification (wecom.md §3.1): check the signature over echostr, decrypt it, and answer
    // the plaintext exactly (no quotes, no newline) within 1 s.
    const auto echostr = net::query_param(target, "echostr");
    if (!echostr || echostr->empty()) {
      return Error{errc::malformed_payload, "URL verification without echostr"};
    }
    if (!crypto_.signature_matches(timestamp, nonce, *echostr, signature)) {
      return Error{errc::bad_signature, "msg_signature does not match"};
    }
    auto plain = crypto_.decrypt(*echostr);
    if (!plain) return plain.error();
    return WebhookOutcome{{}, make_response(http::status::ok, std::move(*plain), "text/plain")};
  }
  if (request.method() != http::verb::post) {
    return Error{errc::malformed_payload, "callbacks are GET (verification) or POST"};
  }

  auto encrypted = encrypted_field(request.body());
  if (!encrypted) return encrypted.error();
  if (!crypto_.signature_matches(timestamp, nonce, *encrypted, signature)) {
    return Error{errc::bad_signature, "msg_signature does not match"};
  }
  auto plain = crypto_.decrypt(*encrypted);
  if (!plain) return plain.error();

  const std::string_view text = trim_front(*plain);
  if (text.starts_with("{")) {
    auto o = parse_object(text);
    if (!o) return Error{errc::malformed_payload, "decrypted message is not a JSON object"};
    return aibot_callback(*o, nonce);
  }
  auto xml = parse_xml(text);
  if (!xml) return xml.error();
  if (xml->name != "xml" || xml->text_at("MsgType").empty()) {
    return Error{errc::malformed_payload, "decrypted message is not a WeCom <xml> with MsgType"};
  }
  if (xml->child("FromUserName") != nullptr) return app_message(*xml, config_);
  if (xml->child("From") != nullptr) return group_message(*xml, config_);
  return WebhookOutcome{{}, empty_ack()};  // a callback of a kind botgate does not read
}

}  // namespace botgate::wecom
