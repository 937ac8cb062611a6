#pragma once
/// One reading of a message's parts into its Store::outbox_status answer, shared by every store
/// so that they agree on what a message with parts in several states is.

#include "botgate/core/store.hpp"

#include <string>
#include <vector>

namespace botgate {

/// One part of a message as a store keeps it.
struct StoredPart {
  OutboxPart part;
  int attempts = 0;
  std::string last_error;
  std::string bot;
};

/// The status of the message whose parts are `parts` (not empty; the first part first, then in
/// queue order), `first` being its first part's message: the state, attempts and error as
/// OutboxStatus says, and where it goes.
OutboxStatus message_status(std::vector<StoredPart> parts, const OutgoingMessage& first);

}  // namespace botgate
