#pragma once
/// Helpers shared by the WeCom tests: test data, the official configuration and encrypted,
/// signed callbacks built the way WeCom builds them.

#include "botgate/core/http.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"
#include "botgate/platforms/wecom/wecom_crypto.hpp"
#include "support/testdata.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace botgate::wecom::test {

// WeCom's official sample values (doc 91144; tests/testdata/wecom/official_vectors.json).
inline constexpr std::string_view kToken = "QDG6eK";
inline constexpr std::string_view kEncodingAesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
inline constexpr std::string_view kCorpId = "wx5823bf96d3bd56c7";
inline constexpr std::string_view kTimestamp = "1409659813";
inline constexpr std::string_view kNonce = "1372623149";

/// The contents of tests/testdata/<name>.
inline std::string load_testdata(std::string_view name) {
  const std::string path = botgate::test::testdata_path(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline boost::json::object load_json(std::string_view name) {
  return boost::json::parse(load_testdata(name)).as_object();
}

inline std::string json_string(const boost::json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

/// A bot of `kind` with the official Token and EncodingAESKey; apps get the official CorpID and
/// AgentID 218 (as in the official message), group and AI bots an empty receive id.
inline WecomConfig official_config(WecomKind kind) {
  WecomConfig config;
  config.bot_name = "wecom";
  config.kind = kind;
  config.api_base = kDefaultApiBase;
  config.token = std::string(kToken);
  config.aes_key = decode_encoding_aes_key(kEncodingAesKey).value();
  if (kind == WecomKind::app) {
    config.corp_id = std::string(kCorpId);
    config.corp_secret = "not-used-here";
    config.agent_id = 218;
  }
  return config;
}

inline WecomCrypto crypto_for(const WecomConfig& config) {
  return WecomCrypto(config.token, config.aes_key, config.corp_id);
}

/// "/webhook/wecom?msg_signature=..&timestamp=..&nonce=.."
inline std::string callback_target(std::string_view signature,
                                   std::string_view timestamp = kTimestamp,
                                   std::string_view nonce = kNonce) {
  return "/webhook/wecom?msg_signature=" + std::string(signature) +
         "&timestamp=" + std::string(timestamp) + "&nonce=" + std::string(nonce);
}

/// A POST callback whose body is `body`, signed over `encrypted`.
inline HttpRequest signed_post(const WecomCrypto& crypto, std::string_view encrypted,
                               std::string body) {
  HttpRequest request{http::verb::post, callback_target(crypto.sign(kTimestamp, kNonce, encrypted)),
                      11};
  request.set(http::field::content_type, "text/xml");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// `plaintext` encrypted and signed as WeCom sends it: in <xml><Encrypt> or, with `json`, in
/// {"encrypt": ..} (AI bots).
inline HttpRequest encrypted_post(const WecomCrypto& crypto, std::string_view plaintext,
                                  bool json = false) {
  const std::string encrypted = crypto.encrypt(plaintext).value();
  std::string body =
      json ? boost::json::serialize(boost::json::object{{"encrypt", encrypted}})
           : "<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[" + encrypted +
                 "]]></Encrypt><AgentID><![CDATA[toAgentID]]></AgentID></xml>";
  return signed_post(crypto, encrypted, std::move(body));
}

}  // namespace botgate::wecom::test
