#pragma once
/// Hands each message event of the bots bound to OneBot ([onebot] bots) to the framework over
/// the bot's connections (BotLink: the reverse one, the forward ones), as a OneBot v11 message
/// event with ids from the store's id map; it counts as handed over once one connection wrote
/// it. While no framework is connected the event waits in the durable inbox and is tried again
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

class BotLink;

class OneBotHandler final : public Handler {
 public:
  /// `links`: the bots it serves, each with its connections (owned by the wiring); events of
  /// other bots go on down the chain.
  OneBotHandler(Store& store, std::map<std::string, BotLink*> links,
                BackoffPolicy retry = {std::chrono::milliseconds(500), std::chrono::seconds(5),
                                       2.0});
  /// Adds bot `bot`, served over `link`; before the runtime starts.
  void serve(const std::string& bot, BotLink* link) { links_[bot] = link; }
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;
  /// The bots it does not serve pass through at once.
  bool immediate_for(const std::string& bot) const override { return !links_.contains(bot); }

 private:
  Store& store_;
  std::map<std::string, BotLink*> links_;
  BackoffPolicy retry_;
};

}  // namespace botgate::onebot
