#include "botgate/platforms/feishu/feishu_webhook.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json.hpp>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

using platforms::object_at;
using platforms::string_at;

/// The body as a JSON object, or malformed_payload.
Result<json::object> parse_object(std::string_view text, json::storage_ptr storage = {}) {
  auto object = platforms::parse_object(text, std::move(storage));
  if (!object) return Error{errc::malformed_payload, "body is not a JSON object"};
  return std::move(*object);
}

HttpResponse ok_ack() { return make_response(http::status::ok, R"({"msg":"success"})"); }

}  // namespace

FeishuWebhook::FeishuWebhook(FeishuConfig config, std::shared_ptr<const BotIdentity> identity)
    : config_(std::move(config)), identity_(std::move(identity)) {
  if (!config_.encrypt_key.empty()) aes_key_ = crypto::sha256(config_.encrypt_key);
}

bool FeishuWebhook::token_matches(std::string_view token) const {
  // Without a verification_token the encrypt_key is the proof (the config requires one).
  return config_.verification_token.empty() ||
         crypto::constant_time_equal(token, config_.verification_token);
}

Result<std::string> FeishuWebhook::decrypt(std::string_view encrypt) const {
  // base64(iv || AES-256-CBC(SHA-256(encrypt_key), iv, PKCS#7(plaintext))).
  auto raw = crypto::base64_decode(encrypt);
  if (!raw || raw->size() < 32) return Error{errc::decrypt_failed, "encrypt is not valid base64"};
  auto plain = crypto::aes256_cbc_decrypt(aes_key_, std::string_view(*raw).substr(0, 16),
                                          std::string_view(*raw).substr(16));
  if (!plain) return Error{errc::decrypt_failed, "encrypt does not decrypt with the encrypt_key"};
  return std::move(*plain);
}

Result<WebhookOutcome> FeishuWebhook::challenge_answer(const json::object& verification) {
  json::object answer{{"challenge", string_at(verification, "challenge")}};
  return WebhookOutcome{{}, make_response(http::status::ok, json::serialize(answer))};
}

Result<WebhookOutcome> FeishuWebhook::answer_unsigned(const json::value& encrypted,
                                                      json::storage_ptr storage) const {
  // The platform signs every event, but not the URL verification it sends when the Request URL
  // is saved (the SDKs do not check a signature on it): an unsigned encrypted body may only be
  // that challenge, and decrypting with our key plus the token is its proof. Every refusal on
  // this path is the same 401 with the same body, only the log says why: a different answer
  // for bad padding, for a plaintext that is not JSON and for JSON of another kind would be a
  // padding oracle, with which anyone could decrypt a recorded callback, or encrypt one, a
  // block at a time without the key.
  const auto refuse = [](std::string_view why) {
    return Error{errc::bad_signature,
                 "no X-Lark-Signature and not a URL verification (" + std::string(why) + ")"};
  };
  if (!encrypted.is_string()) return refuse("encrypt is not a string");
  auto plain = decrypt(encrypted.get_string());
  if (!plain) return refuse(plain.error().detail);
  auto verification = parse_object(*plain, std::move(storage));
  if (!verification) return refuse("the plaintext is not a JSON object");
  if (string_at(*verification, "type") != "url_verification") {
    return refuse("the plaintext is not a url_verification");
  }
  if (!token_matches(string_at(*verification, "token"))) return refuse("its token does not match");
  return challenge_answer(*verification);
}

Result<WebhookOutcome> FeishuWebhook::handle(const HttpRequest& request) const {
  if (request.method() != http::verb::post) {
    return Error{errc::malformed_payload, "callbacks are POST requests"};
  }
  // The three documents of a callback (the body, the decrypted event, the message content) live
  // only until the Event is built: one arena, mostly on the stack, instead of an allocation per
  // JSON value.
  alignas(std::max_align_t) unsigned char arena_buffer[8192];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  json::storage_ptr storage(&arena);

  auto outer = parse_object(request.body(), storage);
  if (!outer) return outer.error();

  json::object payload(storage);
  if (const auto* encrypted = outer->if_contains("encrypt")) {
    if (aes_key_.empty()) {
      return Error{errc::bad_token, "encrypted callback but no encrypt_key is configured"};
    }
    const std::string_view given = request["X-Lark-Signature"];
    if (given.empty()) return answer_unsigned(*encrypted, storage);
    // X-Lark-Signature = hex(SHA-256(timestamp + nonce + encrypt_key + raw body))
    // (open.feishu.cn, "Encrypt and verify event callbacks"; Go SDK event.Signature). Checked
    // before anything is decrypted: only the holder of the key gets past this line.
    const std::string_view timestamp = request["X-Lark-Request-Timestamp"];
    const std::string_view nonce = request["X-Lark-Request-Nonce"];
    const std::string expected = crypto::to_hex(
        crypto::sha256_of({timestamp, nonce, config_.encrypt_key, request.body()}));
    if (!crypto::constant_time_equal(expected, given)) {
      return Error{errc::bad_signature, "X-Lark-Signature does not match"};
    }
    if (!encrypted->is_string()) return Error{errc::malformed_payload, "encrypt is not a string"};
    auto plain = decrypt(encrypted->get_string());
    if (!plain) return plain.error();
    auto inner = parse_object(*plain, storage);
    if (!inner) return Error{errc::malformed_payload, "decrypted payload is not a JSON object"};
    payload = std::move(*inner);
  } else {
    if (!aes_key_.empty()) {
      // The console encrypts everything once an Encrypt Key is set: a plain body is forged.
      return Error{errc::bad_signature, "plain callback but an encrypt_key is configured"};
    }
    if (config_.verification_token.empty()) {
      // The config refuses such a bot; should one be built anyway, it accepts nothing.
      return Error{errc::bad_token, "neither encrypt_key nor verification_token is configured"};
    }
    payload = std::move(*outer);
  }

  // URL verification: {"challenge":..,"token":..,"type":"url_verification"}; answer within 1 s
  // with the challenge.
  if (string_at(payload, "type") == "url_verification") {
    if (!token_matches(string_at(payload, "token"))) {
      return Error{errc::bad_token, "url_verification token does not match"};
    }
    return challenge_answer(payload);
  }

  const json::object* header = object_at(payload, "header");
  const bool schema2 = string_at(payload, "schema") == "2.0" && header != nullptr;
  const std::string token = schema2 ? string_at(*header, "token") : string_at(payload, "token");
  if (!token_matches(token)) return Error{errc::bad_token, "verification token does not match"};
  if (!schema2) {
    // Schema 1.0 is only used by legacy events that botgate does not handle; acknowledge them.
    if (string_at(payload, "type") == "event_callback") return WebhookOutcome{{}, ok_ack()};
    return Error{errc::malformed_payload, "neither a schema 2.0 event nor url_verification"};
  }
  auto event = message_event(payload, config_, identity_.get(), storage);
  if (!event) return event.error();
  if (!*event) return WebhookOutcome{{}, ok_ack()};  // not ours, or not a message: acknowledged
  return WebhookOutcome{{std::move(**event)}, ok_ack()};
}

}  // namespace botgate::feishu
