// The Feishu/Lark long connection's protocol (platforms/feishu/longconn_protocol.hpp) fed fuzzed
// binary frames, pings due, closes and time passing. Protobuf frames hold any byte, so the input
// is a list of records rather than '\0'-separated frames: a kind byte (its value mod 4: 0 a
// frame, 1 a heartbeat tick, 2 a close, 3 a second passing), a big-endian 16-bit length and that
// many bytes (the frame, or the close code in two bytes).
#include "botgate/platforms/feishu/longconn_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace botgate;
  using Clock = std::chrono::steady_clock;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  feishu::FeishuConfig config;
  config.bot_name = "fuzz";
  config.platform = "feishu";
  config.app_id = "cli_a1b2c3d4e5f6g7h8";  // the seeds' events are this app's
  config.long_connection = true;
  auto session = std::make_shared<feishu::LongconnSession>();
  session->service_id = 7;
  auto now = Clock::time_point{} + std::chrono::hours(1);
  feishu::LongconnProtocol protocol(config, std::make_shared<feishu::BotIdentity>(), session,
                                    [] { return 0.5; }, [&now] { return now; });
  (void)protocol.on_connected("");
  while (input.size() >= 3) {
    const auto kind = static_cast<unsigned char>(input[0]) % 4;
    const std::size_t length =
        static_cast<std::size_t>(static_cast<unsigned char>(input[1])) << 8 |
        static_cast<unsigned char>(input[2]);
    input.remove_prefix(3);
    const std::string_view bytes = input.substr(0, length);
    input.remove_prefix(bytes.size());
    std::vector<GatewayAction> actions;
    if (kind == 0) {
      actions = protocol.on_frame(bytes);
    } else if (kind == 1) {
      actions = protocol.on_heartbeat_due();
    } else if (kind == 2) {
      const int code = bytes.size() >= 2 ? static_cast<unsigned char>(bytes[0]) << 8 |
                                               static_cast<unsigned char>(bytes[1])
                                         : kNoCloseCode;
      actions = protocol.on_closed(code);
    } else {
      now += std::chrono::seconds(1);
    }
    for (const GatewayAction& action : actions) {
      if (std::holds_alternative<Reconnect>(action)) (void)protocol.on_connected("");
    }
  }
  return 0;
}
