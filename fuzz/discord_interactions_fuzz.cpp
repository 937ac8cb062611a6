// Discord HTTP interactions (platforms/discord/discord_interactions.hpp) with the fixed key pair
// of tests/testdata/discord/interaction_vectors.json (seed 32 x 0x01). The last input byte picks
// the mode:
//   0: raw: X-Signature-Ed25519, X-Signature-Timestamp and the body from the input;
//   1: the input is the body, signed with the key (timestamp fixed), so the interaction parser
//      behind the signature check is reached.
#include "botgate/crypto/ed25519.hpp"
#include "botgate/platforms/discord/discord_interactions.hpp"
#include "fuzz_request.hpp"

namespace {

using namespace botgate;

const std::string& seed() {
  static const std::string s(32, '\x01');
  return s;
}

const discord::DiscordInteractions& bot() {
  static const discord::DiscordInteractions interactions = [] {
    discord::DiscordConfig c;
    c.bot_name = "fuzz";
    c.api_base = "https://discord.com/api/v10";
    c.token = "fuzz-token";
    c.application_id = "123456789012345678";
    c.public_key = crypto::ed25519_public_key_from_seed(seed());
    return discord::DiscordInteractions(c);
  }();
  return interactions;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool sign = input.ConsumeBool();
  if (!sign) {
    const http::verb method = fuzz::fuzzed_method(input);
    const std::string signature = fuzz::header_value(input);
    const std::string timestamp = fuzz::header_value(input);
    HttpRequest request =
        fuzz::make_request(method, "/webhook/fuzz", input.ConsumeRemainingBytesAsString());
    request.set("X-Signature-Ed25519", signature);
    request.set("X-Signature-Timestamp", timestamp);
    (void)bot().handle(request);
    return 0;
  }
  const std::string timestamp = "1700000000";
  HttpRequest request =
      fuzz::make_request(http::verb::post, "/webhook/fuzz", input.ConsumeRemainingBytesAsString());
  fuzz::sign_ed25519(request, seed(), timestamp);
  if (auto outcome = bot().handle(request); outcome && outcome->reply_ack) {
    // The inline reply path: the ack built from a handler's reply to the interaction.
    OutgoingMessage reply = OutgoingMessage::plain(request.body());
    if (!outcome->events.empty()) reply.reply_context = outcome->events[0].reply_context;
    (void)outcome->reply_ack(reply);
  }
  return 0;
}
