// Feishu/Lark callbacks (platforms/feishu/feishu_webhook.hpp) with fixed keys. The first byte
// picks how the rest becomes a request:
//   0: raw: the signed headers' values and the body straight from the input, for a bot with an
//      encrypt_key (the signature and the decryption are what is reached);
//   1: raw, for a bot with only a verification_token (the plain event parser);
//   2: the input is the plaintext event: encrypted with the bot's key, wrapped as
//      {"encrypt":...} and signed, so the event parser behind the signature check is reached;
//   3: like 2 but unsigned (the URL verification path of an encrypted bot).
#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/feishu/feishu_webhook.hpp"
#include "fuzz_request.hpp"

#include <cstdlib>
#include <memory>

namespace {

using namespace botgate;

constexpr std::string_view kEncryptKey = "fuzz-encrypt-key";
// The token and app id of tests/testdata/feishu, so that its events are seeds that get through.
constexpr std::string_view kToken = "v3rif1cat10n";

feishu::FeishuConfig config(bool encrypted) {
  feishu::FeishuConfig c;
  c.bot_name = "fuzz";
  c.platform = "feishu";
  c.api_base = "https://open.feishu.cn";
  c.app_id = "cli_a1b2c3d4e5f6g7h8";
  c.app_secret = "fuzz-secret";
  c.verification_token = std::string(kToken);
  if (encrypted) c.encrypt_key = std::string(kEncryptKey);
  return c;
}

std::shared_ptr<feishu::BotIdentity> identity() {
  auto id = std::make_shared<feishu::BotIdentity>();
  id->set_open_id("ou_fuzzbot");
  return id;
}

const feishu::FeishuWebhook& encrypted_bot() {
  static const feishu::FeishuWebhook bot(config(true), identity());
  return bot;
}
const feishu::FeishuWebhook& plain_bot() {
  static const feishu::FeishuWebhook bot(config(false), identity());
  return bot;
}

/// {"encrypt": base64(iv || AES-256-CBC(SHA-256(encrypt_key), plaintext))}, as Feishu sends.
std::string encrypted_body(std::string_view plaintext) {
  const std::string key = crypto::sha256(kEncryptKey);
  const std::string iv(16, '\x42');
  auto cipher = crypto::aes256_cbc_encrypt(key, iv, plaintext, 16);
  if (!cipher) std::abort();
  return R"({"encrypt":")" + crypto::base64_encode(iv + *cipher) + R"("})";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const int mode = input.ConsumeIntegralInRange<int>(0, 3);
  HttpRequest request;
  const feishu::FeishuWebhook* bot = &encrypted_bot();
  if (mode <= 1) {
    const http::verb method = fuzz::fuzzed_method(input);
    const std::string timestamp = fuzz::header_value(input);
    const std::string nonce = fuzz::header_value(input);
    const std::string signature = fuzz::header_value(input);
    request = fuzz::make_request(method, "/webhook/fuzz", input.ConsumeRemainingBytesAsString());
    request.set("X-Lark-Request-Timestamp", timestamp);
    request.set("X-Lark-Request-Nonce", nonce);
    request.set("X-Lark-Signature", signature);
    if (mode == 1) bot = &plain_bot();
  } else {
    const std::string body = encrypted_body(input.ConsumeRemainingBytesAsString());
    request = fuzz::make_request(http::verb::post, "/webhook/fuzz", body);
    if (mode == 2) {
      const std::string timestamp = "1700000000", nonce = "fuzz-nonce";
      request.set("X-Lark-Request-Timestamp", timestamp);
      request.set("X-Lark-Request-Nonce", nonce);
      request.set("X-Lark-Signature",
                  crypto::to_hex(crypto::sha256_of({timestamp, nonce, kEncryptKey, body})));
    }
  }
  (void)bot->handle(request);
  return 0;
}
