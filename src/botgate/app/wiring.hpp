#pragma once
/// The only code that knows every module: builds the store, the handler chain, the bots and the
/// HTTP routes from a Config.

#include "botgate/app/config.hpp"
#include "botgate/core/handler.hpp"
#include "botgate/core/outgoing.hpp"

#include <memory>
#include <string>
#include <vector>

namespace botgate::platforms {
class PlatformRegistry;
}

namespace botgate::app {

/// A running botgate: io_context, store, runtime, server.
class Gateway {
 public:
  /// Builds everything (no sockets yet) with botgate's own platforms
  /// (platforms::register_all_platforms). Throws ConfigError for values only the modules can
  /// judge (a rule's RE2 pattern, a platform key's value), std::runtime_error for the store.
  explicit Gateway(const Config& config);
  /// The same with `platforms`, which must be the registry `config` was read with: botgate's
  /// own and those a program built on the library added (run_cli's PlatformSetup). Every
  /// platform that declares a built-in bot gets it (the console's sandbox).
  Gateway(const Config& config, const platforms::PlatformRegistry& platforms);
  ~Gateway();

  /// Adds a C++ handler to the chain, after the built-in ones (rules, forward, echo): it sees
  /// each event that none of them answered `done`, and handlers added here run in the order
  /// added. Only before run(), check_online() or send_one(): from then on the runtime reads the
  /// chain from its workers, and a later call throws std::logic_error. The handler is called on
  /// each bot's strand, one event at a time per bot (see Handler).
  void add_handler(std::unique_ptr<Handler> handler);

  /// Bots skipped while building (a variable they need is unset), as warnings.
  const std::vector<std::string>& skipped() const;

  /// `botgate run`: serve until SIGINT/SIGTERM; returns the exit status.
  int run();
  /// `botgate check --online`: prepare every bot once (fetch tokens); 0 when all succeed.
  int check_online();
  /// `botgate send`: queue one message and deliver it; 0 when sent.
  int send_one(const std::string& bot, const std::string& chat_id, OutgoingMessage message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace botgate::app
