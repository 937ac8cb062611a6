// WeCom callbacks (platforms/wecom/wecom_webhook.hpp: the outer XML or JSON, WXBizMsgCrypt and
// the decrypted XML or JSON) with the fixed keys of tests/testdata/wecom/official_vectors.json.
// The last input byte picks the mode, the one before the kind of bot (group, app, AI bot):
//   0: raw: the request target (query: msg_signature, timestamp, nonce, echostr) and the body
//      straight from the input;
//   1: the input is the plaintext message: encrypted with the bot's key and receive id, put in
//      the body (<xml><Encrypt> or {"encrypt"} for AI bots) and signed in the query, so the
//      message parsers behind the signature check are reached;
//   2: like 1 for the URL verification GET (echostr).
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/wecom/wecom_crypto.hpp"
#include "botgate/platforms/wecom/wecom_webhook.hpp"
#include "fuzz_request.hpp"

#include <array>
#include <cstdlib>
#include <memory>

namespace {

using namespace botgate;

constexpr std::string_view kToken = "QDG6eK";
constexpr std::string_view kEncodingAesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
constexpr std::string_view kCorpId = "wx5823bf96d3bd56c7";

std::string aes_key() {
  auto key = wecom::decode_encoding_aes_key(kEncodingAesKey);
  if (!key) std::abort();
  return *key;
}

wecom::WecomConfig config(wecom::WecomKind kind) {
  wecom::WecomConfig c;
  c.bot_name = "fuzz";
  c.kind = kind;
  c.api_base = wecom::kDefaultApiBase;
  c.token = std::string(kToken);
  c.aes_key = aes_key();
  if (kind == wecom::WecomKind::app) {
    c.corp_id = std::string(kCorpId);
    c.corp_secret = "fuzz-secret";
    c.agent_id = 1000002;
  } else {
    c.webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=fuzz";
  }
  c.mention_name = "RobotA";
  return c;
}

struct Bot {
  wecom::WecomWebhook webhook;
  wecom::WecomCrypto crypto;
  bool aibot;
};

const Bot& bot(int index) {
  static const std::array<Bot, 3> bots{
      Bot{wecom::WecomWebhook(config(wecom::WecomKind::group)),
          wecom::WecomCrypto(std::string(kToken), aes_key(), ""), false},
      Bot{wecom::WecomWebhook(config(wecom::WecomKind::app)),
          wecom::WecomCrypto(std::string(kToken), aes_key(), std::string(kCorpId)), false},
      // With passive streams, as botgate runs an AI bot: messages open one, refreshes read it.
      Bot{wecom::WecomWebhook(config(wecom::WecomKind::aibot),
                              std::make_shared<wecom::AibotPassiveStreams>()),
          wecom::WecomCrypto(std::string(kToken), aes_key(), ""), true}};
  return bots[static_cast<std::size_t>(index)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const int mode = input.ConsumeIntegralInRange<int>(0, 2);
  const Bot& b = bot(input.ConsumeIntegralInRange<int>(0, 2));

  if (mode == 0) {
    const http::verb method = fuzz::fuzzed_method(input);
    const std::string target = "/webhook/fuzz?" + input.ConsumeRandomLengthString(400);
    (void)b.webhook.handle(fuzz::make_request(method, target, input.ConsumeRemainingBytesAsString()));
    return 0;
  }

  const std::string plaintext = input.ConsumeRemainingBytesAsString();
  auto encrypted = b.crypto.encrypt(plaintext, std::string(16, 'r'));
  if (!encrypted) std::abort();  // any message encrypts
  const std::string timestamp = "1409659813", nonce = "1372623149";
  std::string target = "/webhook/fuzz?msg_signature=" + b.crypto.sign(timestamp, nonce, *encrypted) +
                       "&timestamp=" + timestamp + "&nonce=" + nonce;
  if (mode == 2) {
    target += "&echostr=" + net::percent_encode(*encrypted);
    (void)b.webhook.handle(fuzz::make_request(http::verb::get, target, ""));
    return 0;
  }
  std::string body = b.aibot ? R"({"encrypt":")" + *encrypted + R"("})"
                             : "<xml><ToUserName><![CDATA[" + std::string(kCorpId) +
                                   "]]></ToUserName><Encrypt><![CDATA[" + *encrypted +
                                   "]]></Encrypt><AgentID>1000002</AgentID></xml>";
  (void)b.webhook.handle(fuzz::make_request(http::verb::post, target, std::move(body)));
  return 0;
}
