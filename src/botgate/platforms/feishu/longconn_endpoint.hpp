#pragma once
/// Where a Feishu/Lark long connection connects: `POST {api_base}/callback/ws/endpoint` with the
/// app's credentials, for a fresh one-use URL before each connection (longconn-and-streaming
/// notes 1.1, 1.2), and which failures are for good.

#include "botgate/core/event_source.hpp"
#include "botgate/platforms/common/gateway_runner.hpp"
#include "botgate/platforms/common/registry.hpp"
#include "botgate/platforms/feishu/feishu_config.hpp"
#include "botgate/platforms/feishu/feishu_identity.hpp"
#include "botgate/platforms/feishu/longconn_protocol.hpp"

#include <memory>
#include <optional>
#include <string>

namespace botgate::net {
class HttpClient;
}

namespace botgate::feishu {

class LongconnEndpoint final : public platforms::GatewayEndpoint {
 public:
  LongconnEndpoint(FeishuConfig config, net::HttpClient& http,
                   std::shared_ptr<LongconnSession> session);

  /// A new URL, its service_id and ClientConfig taken into the session. Errors:
  /// platform_unavailable for what the SDKs retry (HTTP errors, code 1 "busy", 1000040343
  /// "internal"), platform_rejected for the rest (wrong credentials: fatal()).
  asio::awaitable<Result<std::string>> url(std::string resume_url) override;
  /// The URL carries the authentication: nothing else to present.
  asio::awaitable<Result<std::string>> credential() override { co_return std::string(); }
  /// The endpoint refused the app, the platform banned it (handshake 403), or the app has all
  /// the connections it may have (handshake autherrcode 1000040350).
  std::optional<std::string> fatal(const Error& error) const override;

  /// The headers a refused handshake explains itself with (WsClientOptions::refusal_headers).
  static std::vector<std::string> refusal_headers();

 private:
  FeishuConfig config_;
  net::HttpClient& http_;
  std::shared_ptr<LongconnSession> session_;
};

/// The bot's long connection, on the gateway runner.
std::unique_ptr<EventSource> make_longconn(const FeishuConfig& config,
                                           platforms::PlatformServices& services,
                                           std::shared_ptr<const BotIdentity> identity);

}  // namespace botgate::feishu
