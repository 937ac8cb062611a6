#include "botgate/platforms/sandbox/sandbox_platform.hpp"

#include "botgate/core/runtime.hpp"
#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace botgate::platforms {
namespace {

Error bad_request(std::string why) { return Error{errc::malformed_payload, std::move(why)}; }

/// Chat ids come from the page ("tab-<random>"): short and printable, so they are safe in logs.
bool valid_chat_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

Result<WebhookOutcome> SandboxWebhook::handle(const HttpRequest& request) const {
  if (request.method() != http::verb::post) return bad_request("a sandbox message is a POST");
  auto body = parse_object(request.body());
  if (!body) return bad_request("the body is not a JSON object");
  const std::string chat_id = string_at(*body, "chat_id");
  std::string text = string_at(*body, "text");
  std::string platform = string_at(*body, "platform");
  const std::string chat_type = string_at(*body, "chat_type");
  if (!valid_chat_id(chat_id)) {
    return bad_request("chat_id must be 1-64 letters, digits, '-', '_' or '.'");
  }
  if (text.empty()) return bad_request("text is empty");
  if (text.size() > kSandboxMaxTextBytes) {
    return bad_request("text is longer than " + std::to_string(kSandboxMaxTextBytes) + " bytes");
  }
  if (platform.empty()) platform = kSandboxPlatform;
  if (platform != kSandboxPlatform &&
      std::find(options_.platforms.begin(), options_.platforms.end(), platform) ==
          options_.platforms.end()) {
    return bad_request("unknown platform '" + platform + "'");
  }
  std::optional<ChatType> type = chat_type.empty() ? ChatType::private_chat
                                                   : chat_type_from_string(chat_type);
  if (!type) return bad_request("chat_type must be private, group or channel");

  Event event;
  event.id = new_event_id();
  event.platform = std::move(platform);
  event.platform_event_id = event.id;
  event.time = std::chrono::system_clock::now();
  event.chat.id = chat_id;
  event.chat.type = *type;
  std::string user = string_at(*body, "user");
  event.sender.id = "sandbox-" + chat_id;
  event.sender.name = user.empty() ? "you" : user.substr(0, 64);
  Message message;
  message.id = event.id;
  message.mentions_bot = true;
  message.segments.emplace_back(Text{text});
  message.text = std::move(text);
  event.message = std::move(message);

  boost::json::object ack{{"event_id", event.id}, {"log_id", "in:" + event.id}};
  WebhookOutcome outcome;
  outcome.ack = make_response(http::status::accepted, boost::json::serialize(ack));
  outcome.events.push_back(std::move(event));
  return outcome;
}

asio::awaitable<Result<void>> SandboxSender::prepare() { co_return Result<void>{}; }

asio::awaitable<Result<SentMessage>> SandboxSender::send(const OutgoingMessage& message) {
  co_return SentMessage{"sandbox-" + message.idempotency_key};
}

BotParts make_sandbox_parts(SandboxOptions options) {
  BotParts parts;
  parts.webhook = std::make_unique<SandboxWebhook>(std::move(options));
  parts.sender = std::make_unique<SandboxSender>();
  return parts;
}

PlatformDescriptor sandbox_descriptor() {
  PlatformDescriptor d;
  d.name = kSandboxPlatform;
  d.builtin_bot = BuiltinBot{kSandboxBot, "the web console's built-in sandbox bot"};
  d.make = [](const BotSettings&, PlatformServices& services) {
    return make_sandbox_parts({services.platform_names});
  };
  return d;
}

}  // namespace botgate::platforms
