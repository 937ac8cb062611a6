// Event JSON as stored in the inbox, the outbox and the message log, read back after a restart
// (core/event_json.hpp). Besides not crashing: whatever parses must survive a second round
// trip unchanged, or a stored row could become unreadable.
#include "botgate/core/event_json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto event = botgate::event_from_json(input)) {
    const std::string stored = botgate::to_json(*event);
    auto again = botgate::event_from_json(stored);
    if (!again || botgate::to_json(*again) != stored) std::abort();
  }
  if (auto message = botgate::outgoing_from_json(input)) {
    const std::string stored = botgate::to_json(*message);
    auto again = botgate::outgoing_from_json(stored);
    if (!again || botgate::to_json(*again) != stored) std::abort();
  }
  (void)botgate::parse_time(input);
  return 0;
}
