#pragma once
/// The ordered handlers an event goes through: rules, forward, echo, library handlers. The
/// first handler that answers `done` ends the chain.

#include "botgate/core/handler.hpp"

#include <memory>
#include <vector>

namespace botgate {

class HandlerChain {
 public:
  /// Handlers are added before the runtime starts; the chain is read-only afterwards.
  void add(std::unique_ptr<Handler> handler);
  /// Runs `event` through the chain and returns the replies, addressed to its conversation.
  /// A handler that throws is logged and treated as `next`.
  asio::awaitable<std::vector<OutgoingMessage>> run(const Event& event) const;
  std::size_t size() const noexcept { return handlers_.size(); }

 private:
  std::vector<std::unique_ptr<Handler>> handlers_;
};

}  // namespace botgate
