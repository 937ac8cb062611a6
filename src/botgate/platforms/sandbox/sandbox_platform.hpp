#pragma once
/// The web console's sandbox chat, as a platform: a message typed in the page is a callback
/// (`POST /api/v1/sandbox/messages`, behind the API token) that becomes an Event on the same
/// path as every platform's (dedup, inbox, handlers, outbox); its replies are "delivered" to the
/// message log, where the page that sent the message reads them. The platform declares one
/// built-in bot, kSandboxBot (PlatformDescriptor::builtin_bot): botgate creates it, it needs no
/// credentials, and its callback is reachable only through the API.

#include "botgate/core/platform.hpp"
#include "botgate/platforms/common/registry.hpp"

#include <string>
#include <vector>

namespace botgate::platforms {

inline constexpr const char* kSandboxBot = "sandbox";
inline constexpr const char* kSandboxPlatform = "sandbox";
/// Longer sandbox messages are refused (400): no platform takes much more in one message.
inline constexpr std::size_t kSandboxMaxTextBytes = 4000;

struct SandboxOptions {
  /// The platforms a sandbox message may look like (so rules filtered by platform can be tried).
  std::vector<std::string> platforms;
};

/// A callback body {"chat_id", "text", "user"?, "platform"?, "chat_type"?} into one Event for
/// the sandbox bot; 202 {"event_id", "log_id"} as its acknowledgement.
class SandboxWebhook final : public WebhookHandler {
 public:
  explicit SandboxWebhook(SandboxOptions options) : options_(std::move(options)) {}
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  SandboxOptions options_;
};

/// Delivers nowhere: the runtime records the reply as sent in the message log.
class SandboxSender final : public Sender {
 public:
  asio::awaitable<Result<void>> prepare() override;
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  /// The console's chat has nothing to delete on a platform: a recall ends at once, shown in
  /// the message log like any other.
  bool can_recall() const override { return true; }
  asio::awaitable<Result<void>> recall(const OutgoingMessage&, const std::string&) override {
    co_return Result<void>{};
  }
};

BotParts make_sandbox_parts(SandboxOptions options);

/// The sandbox as a registered platform: its built-in bot, whose messages may look like any of
/// PlatformServices::platform_names.
PlatformDescriptor sandbox_descriptor();

}  // namespace botgate::platforms
