// The Discord gateway protocol (platforms/discord/discord_gateway_protocol.hpp) fed fuzzed frames,
// heartbeats and closes (gateway_frames.hpp), from a fresh and from a restored session.
#include "botgate/platforms/discord/discord_gateway_protocol.hpp"
#include "gateway_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace botgate;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  discord::DiscordGatewayOptions options;
  options.bot_name = "fuzz";
  options.unit_random = [] { return 0.5; };
  discord::DiscordGatewayProtocol protocol(options);
  // An odd first byte: a process that restarts with a stored session resumes it.
  if (!input.empty() && (static_cast<unsigned char>(input[0]) & 1) != 0) {
    protocol.restore(GatewaySession{"fuzz-session", 42, "", "80351110224678912"});
    input.remove_prefix(1);
  }
  fuzz::drive_gateway(protocol, input, "fuzz-bot-token");
  return 0;
}
