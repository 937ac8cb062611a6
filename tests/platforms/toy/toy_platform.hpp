#pragma once
/// The toy platform: a platform that lives only in the tests, written by following
/// docs/adding-a-platform.md, so that the guide is checked by code that builds and runs. A
/// callback is a JSON POST that carries the bot's shared secret in `X-Toy-Secret`; a reply is a
/// JSON POST to `{api_base}/messages` with the same header. It is not in all_platforms.cpp: a
/// program built on the library adds it (toy_bot.cpp, through app::run_cli's PlatformSetup).

#include "botgate/core/platform.hpp"
#include "botgate/platforms/common/registry.hpp"

#include <string>
#include <vector>

namespace botgate::toy {

inline constexpr const char* kDefaultApiBase = "https://toy.invalid";
/// The header each callback and each send carries: the bot's `secret`.
inline constexpr const char* kSecretHeader = "X-Toy-Secret";

/// The `[[bot]]` keys of platform "toy" (besides name, platform, api_base, proxy, concurrency).
std::vector<SettingSpec> toy_settings();

struct ToyConfig {
  std::string bot_name;
  std::string secret;
  std::string api_base;  // without a trailing "/"
};

/// Reads a bot's settings. Throws std::invalid_argument naming the key (the config loader turns
/// it into exit status 2) and BotSkipped for an unset ${VAR}.
ToyConfig toy_config_from(const BotSettings& settings);

/// A callback {"id", "chat", "user", "text"} with the right secret into one Event; 200
/// {"ok":true} as its acknowledgement. Wrong or missing secret: 401 (errc::bad_token), no event.
class ToyWebhook final : public WebhookHandler {
 public:
  explicit ToyWebhook(ToyConfig config) : config_(std::move(config)) {}
  Result<WebhookOutcome> handle(const HttpRequest& request) const override;

 private:
  ToyConfig config_;
};

/// What an answer of POST /messages means: 2xx {"id"} sent; 429 rate limited; 5xx retryable;
/// anything else refused for good.
Result<SentMessage> read_send_response(const HttpResponse& response);

/// POSTs {"chat", "text", "reply_to", "key"} to {api_base}/messages. `key` is the message's
/// idempotency key, so a send tried again after a lost answer is marked idempotent.
class ToySender final : public Sender {
 public:
  ToySender(ToyConfig config, platforms::PlatformServices& services)
      : config_(std::move(config)), http_(services.http) {}
  asio::awaitable<Result<void>> prepare() override;
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;

 private:
  ToyConfig config_;
  net::HttpClient& http_;
};

platforms::PlatformDescriptor toy_descriptor();

}  // namespace botgate::toy
