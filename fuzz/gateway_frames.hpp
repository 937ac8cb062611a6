#pragma once
/// Drives a GatewayProtocol (core/gateway.hpp) with fuzzed frames, as the gateway runner does:
/// the input is split at '\x00' bytes into text frames; a frame that is a single byte 'H' is a
/// heartbeat tick, one that starts with 'C' and two more bytes a close with that code. Each
/// connection starts with on_connected, as after every reconnect; a Fatal ends the run.

#include "botgate/core/gateway.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace botgate::fuzz {

inline void drive_gateway(GatewayProtocol& protocol, std::string_view input,
                          const std::string& credential) {
  (void)protocol.on_connected(credential);
  while (!input.empty()) {
    const std::size_t end = input.find('\0');
    const std::string_view frame = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);

    std::vector<GatewayAction> actions;
    if (frame == "H") {
      actions = protocol.on_heartbeat_due();
    } else if (frame.size() == 3 && frame[0] == 'C') {
      const int code = static_cast<unsigned char>(frame[1]) << 8 | static_cast<unsigned char>(frame[2]);
      actions = protocol.on_closed(code);
    } else {
      actions = protocol.on_frame(frame);
    }
    for (const GatewayAction& action : actions) {
      if (std::holds_alternative<Fatal>(action)) return;  // the runner stops the bot
      if (std::holds_alternative<Reconnect>(action)) {
        // The runner reconnects: the session it saved is what the next connection starts from.
        protocol.restore(protocol.session());
        (void)protocol.on_connected(credential);
      }
    }
  }
}

}  // namespace botgate::fuzz
