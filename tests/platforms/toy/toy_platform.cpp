#include "platforms/toy/toy_platform.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/net/http_client.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/user_text.hpp"

#include <boost/json/serialize.hpp>

#include <chrono>

namespace botgate::toy {
namespace {

Error malformed(std::string why) { return Error{errc::malformed_payload, std::move(why)}; }

std::string header_value(const HttpRequest& request, std::string_view name) {
  const auto it = request.find(name);
  return it == request.end() ? std::string() : std::string(it->value());
}

}  // namespace

std::vector<SettingSpec> toy_settings() { return {{"secret", SettingType::string, true}}; }

ToyConfig toy_config_from(const BotSettings& settings) {
  ToyConfig config;
  config.bot_name = settings.name;
  config.secret = settings.require_string("secret");
  config.api_base = settings.api_base.empty() ? kDefaultApiBase : settings.api_base;
  while (config.api_base.ends_with('/')) config.api_base.pop_back();
  return config;
}

Result<WebhookOutcome> ToyWebhook::handle(const HttpRequest& request) const {
  // Verify before reading anything else: a forged callback costs one comparison.
  if (!crypto::constant_time_equal(header_value(request, kSecretHeader), config_.secret)) {
    return Error{errc::bad_token, std::string(kSecretHeader) + " does not match"};
  }
  auto body = platforms::parse_object(request.body());
  if (!body) return malformed("the body is not a JSON object");
  Event event;
  event.platform = "toy";
  event.platform_event_id = platforms::string_at(*body, "id");
  event.chat.id = platforms::string_at(*body, "chat");
  event.chat.type = ChatType::private_chat;
  event.sender.id = platforms::string_at(*body, "user");
  if (event.platform_event_id.empty() || event.chat.id.empty() || event.sender.id.empty()) {
    return malformed("id, chat and user are required");
  }
  event.bot = config_.bot_name;
  event.time = std::chrono::system_clock::now();
  Message message;
  message.id = event.platform_event_id;
  message.text = platforms::string_at(*body, "text");
  message.mentions_bot = true;  // a private chat: every message is addressed to the bot
  message.segments.emplace_back(Text{message.text});
  event.message = std::move(message);

  WebhookOutcome outcome;
  outcome.ack = make_response(http::status::ok, R"({"ok":true})");
  outcome.events.push_back(std::move(event));
  return outcome;
}

Result<SentMessage> read_send_response(const HttpResponse& response) {
  const unsigned status = response.result_int();
  if (status == 429) return Error{errc::rate_limited, "toy answered 429"};
  if (status >= 500) {
    return Error{errc::platform_unavailable, "toy answered " + std::to_string(status)};
  }
  if (status < 200 || status >= 300) {
    return Error{errc::platform_rejected, "toy answered " + std::to_string(status)};
  }
  auto body = platforms::parse_object(response.body());
  if (!body) return Error{errc::platform_unavailable, "toy answered something not JSON"};
  return SentMessage{platforms::string_at(*body, "id")};
}

asio::awaitable<Result<void>> ToySender::prepare() { co_return Result<void>{}; }

asio::awaitable<Result<SentMessage>> ToySender::send(const OutgoingMessage& message) {
  // "@all" in user text (an echo) would notify everyone: only a Mention segment may notify.
  const std::string text = platforms::break_tokens(message.plain_text(), {"@all"});
  boost::json::object body{{"chat", message.chat_id},
                           {"text", text},
                           {"reply_to", message.reply_to},
                           {"key", message.idempotency_key}};
  HttpRequest request{http::verb::post, "/", 11};
  request.set(http::field::content_type, "application/json");
  request.set(kSecretHeader, config_.secret);
  request.body() = boost::json::serialize(body);
  net::RequestOptions options;
  options.idempotent = true;  // the fake drops a second POST with the same key
  auto response = co_await http_.send(config_.api_base + "/messages", std::move(request), options);
  if (!response) co_return response.error();
  co_return read_send_response(*response);
}

platforms::PlatformDescriptor toy_descriptor() {
  platforms::PlatformDescriptor d;
  d.name = "toy";
  d.default_api_base = kDefaultApiBase;
  d.settings = toy_settings();
  d.make = [](const BotSettings& settings, platforms::PlatformServices& services) {
    ToyConfig config = toy_config_from(settings);
    BotParts parts;
    parts.webhook = std::make_unique<ToyWebhook>(config);
    parts.sender = std::make_unique<ToySender>(std::move(config), services);
    return parts;
  };
  return d;
}

}  // namespace botgate::toy
