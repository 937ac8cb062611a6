#pragma once
/// The OneBot side of one bot: who it is to the framework, the events it handed over lately,
/// its actions, and its connections: the reverse one botgate dials (ReverseClient) and the
/// forward ones frameworks open to botgate (ForwardServer). An event goes to every connection
/// and counts as delivered once one of them has written it (OneBotHandler keeps it in the
/// inbox otherwise); an action is answered on the connection it came on, by the one Actions.

#include "botgate/core/error.hpp"
#include "botgate/onebot/onebot_actions.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <string>

namespace botgate::onebot {

class ReverseClient;
class ForwardServer;

/// Thread safety: post_event(), recent() and actions() on the bot's strand; the rest is set
/// before the runtime starts and read-only afterwards.
class BotLink {
 public:
  BotLink(asio::any_io_executor strand, Runtime& runtime, Store& store, BotIdentity identity);

  void set_reverse(ReverseClient* reverse) { reverse_ = reverse; }
  void set_forward(ForwardServer* forward) { forward_ = forward; }

  /// Sends one event frame to every connection of the bot. errc::platform_unavailable when none
  /// is up, or none wrote it (the caller keeps the event and tries again).
  asio::awaitable<Result<void>> post_event(std::string frame);

  const BotIdentity& identity() const noexcept { return identity_; }
  asio::any_io_executor strand() const { return strand_; }
  /// The events handed to the framework lately (the actions' reply rules).
  RecentEvents& recent() noexcept { return recent_; }
  Actions& actions() noexcept { return actions_; }

 private:
  asio::any_io_executor strand_;
  BotIdentity identity_;
  RecentEvents recent_;
  Actions actions_;
  ReverseClient* reverse_ = nullptr;
  ForwardServer* forward_ = nullptr;
};

}  // namespace botgate::onebot
