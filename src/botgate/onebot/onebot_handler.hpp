#pragma once
/// Hands each message event of the bots bound to OneBot ([onebot] bots) to the framework over
/// the bot's ReverseClient, as a OneBot v11 message event with ids from the store's id map.
/// While no framework is connected the event waits in the durable inbox and is tried again
/// (HandlerResult::retry, with backoff), its chat's later events behind it: nothing is lost
/// when the framework is away. Once written to the framework the event is kept as a reply
/// reference (answer_later), so that a reply segment or get_msg naming it finds it for 24 hours.
/// A bot it serves is never answered by a handler after it (echo).

#include "botgate/core/backoff.hpp"
#include "botgate/core/handler.hpp"

#include <map>
#include <string>

namespace botgate {
class Store;
}

namespace botgate::onebot {

class ReverseClient;

class OneBotHandler final : public Handler {
 public:
  /// `clients`: the bots it serves, each with its connection (owned by the bot's parts);
  /// events of other bots go on down the chain.
  OneBotHandler(Store& store, std::map<std::string, ReverseClient*> clients,
                BackoffPolicy retry = {std::chrono::milliseconds(500), std::chrono::seconds(5),
                                       2.0});
  /// Adds bot `bot`, served over `client`; before the runtime starts.
  void serve(const std::string& bot, ReverseClient* client) { clients_[bot] = client; }
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;

 private:
  Store& store_;
  std::map<std::string, ReverseClient*> clients_;
  BackoffPolicy retry_;
};

}  // namespace botgate::onebot
