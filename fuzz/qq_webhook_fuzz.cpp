// QQ HTTP callbacks (platforms/qq/qq_webhook.hpp) with the fixed AppSecret of
// tests/testdata/qq/webhook_vectors.json. The last input byte picks the mode:
//   0: raw: X-Signature-Ed25519, X-Signature-Timestamp, X-Bot-Appid and the body from the input;
//   1: the input is the body, signed with the bot's key (timestamp fixed), so the op and event
//      parsers behind the signature check are reached.
#include "botgate/platforms/qq/qq_webhook.hpp"
#include "fuzz_request.hpp"

namespace {

using namespace botgate;

constexpr std::string_view kAppSecret = "123456abcdef";

const qq::QqWebhook& bot() {
  static const qq::QqWebhook webhook = [] {
    qq::QqConfig c;
    c.bot_name = "fuzz";
    c.api_base = qq::kDefaultApiBase;
    c.token_url = qq::kDefaultTokenUrl;
    c.app_id = "102000000";
    c.app_secret = std::string(kAppSecret);
    c.mode = qq::QqMode::webhook;
    // The replay window on, as in a running botgate, at the signed mode's timestamp.
    return qq::QqWebhook(c, [] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1728981195));
    });
  }();
  return webhook;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool sign = input.ConsumeBool();
  if (!sign) {
    const http::verb method = fuzz::fuzzed_method(input);
    const std::string signature = fuzz::header_value(input);
    const std::string timestamp = fuzz::header_value(input);
    const std::string app_id = fuzz::header_value(input);
    HttpRequest request =
        fuzz::make_request(method, "/webhook/fuzz", input.ConsumeRemainingBytesAsString());
    request.set("X-Signature-Ed25519", signature);
    request.set("X-Signature-Timestamp", timestamp);
    if (!app_id.empty()) request.set("X-Bot-Appid", app_id);
    (void)bot().handle(request);
    return 0;
  }
  static const std::string seed = qq::qq_signing_seed(kAppSecret);
  const std::string timestamp = "1728981195";
  HttpRequest request =
      fuzz::make_request(http::verb::post, "/webhook/fuzz", input.ConsumeRemainingBytesAsString());
  fuzz::sign_ed25519(request, seed, timestamp);
  request.set("X-Bot-Appid", "102000000");
  (void)bot().handle(request);
  return 0;
}
