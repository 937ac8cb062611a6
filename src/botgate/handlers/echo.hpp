#pragma once
/// [echo]: answers a text message with prefix + its text, in the same conversation, when the
/// message is addressed to the bot (a private chat or a mention, see addressed_to_bot()).

#include "botgate/core/handler.hpp"

#include <string>

namespace botgate::handlers {

class EchoHandler final : public Handler {
 public:
  explicit EchoHandler(std::string prefix) : prefix_(std::move(prefix)) {}
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;
  bool immediate_for(const std::string&) const override { return true; }

 private:
  std::string prefix_;
};

}  // namespace botgate::handlers
