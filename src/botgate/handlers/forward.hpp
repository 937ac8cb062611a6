#pragma once
/// [forward]: POSTs each event as JSON (DESIGN.md "Event JSON") to the user's service and sends
/// back what it answers: {"reply": "text"} or {"messages": [{"text"}|{"markdown"}|{"image_url"}]}.
/// It has its own HTTP client, which never carries a platform token.

#include "botgate/core/error.hpp"
#include "botgate/core/handler.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace botgate::net {
class HttpClient;
}

namespace botgate::handlers {

/// The replies a forward response asks for. A body that is empty or has neither key means "no
/// reply"; a body that is not JSON, or has keys of the wrong type, is malformed_payload.
botgate::Result<std::vector<OutgoingMessage>> parse_forward_response(std::string_view body);

class ForwardHandler final : public Handler {
 public:
  ForwardHandler(boost::asio::any_io_executor executor, std::string url,
                 std::chrono::milliseconds timeout);
  ~ForwardHandler() override;
  /// 2xx: the service handled the event (`done`, with its replies if any). A failure (timeout,
  /// non-2xx, malformed answer) is logged and the event goes on down the chain.
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;

 private:
  std::string url_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace botgate::handlers
