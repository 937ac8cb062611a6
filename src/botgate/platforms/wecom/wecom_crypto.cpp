#include "botgate/platforms/wecom/wecom_crypto.hpp"

#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/encoding.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace botgate::wecom {
namespace {

// doc 91144: "PKCS#7 ... 块大小为 32 字节": pad values 1..32, not 1..16.
constexpr std::size_t kPadBlock = 32;
constexpr std::size_t kRandomBytes = 16;
constexpr std::size_t kLengthBytes = 4;

std::string_view iv_of(std::string_view key) { return key.substr(0, 16); }

}  // namespace

Result<std::string> decode_encoding_aes_key(std::string_view encoding_aes_key) {
  if (encoding_aes_key.size() != 43) {
    return Error{errc::invalid_argument,
                 "must be 43 characters (it has " + std::to_string(encoding_aes_key.size()) + ")"};
  }
  const bool alphanumeric = std::all_of(encoding_aes_key.begin(), encoding_aes_key.end(),
                                        [](unsigned char c) { return std::isalnum(c) != 0; });
  auto key = crypto::base64_decode(std::string(encoding_aes_key) + "=");
  if (!alphanumeric || !key || key->size() != 32) {
    return Error{errc::invalid_argument, "must be 43 letters and digits (base64 of 32 bytes)"};
  }
  return std::move(*key);
}

std::string msg_signature(std::string_view token, std::string_view timestamp,
                          std::string_view nonce, std::string_view encrypted) {
  std::array<std::string_view, 4> parts{token, timestamp, nonce, encrypted};
  std::sort(parts.begin(), parts.end());
  return crypto::to_hex(crypto::sha1_of({parts[0], parts[1], parts[2], parts[3]}));
}

WecomCrypto::WecomCrypto(std::string token, std::string aes_key, std::string receive_id)
    : token_(std::move(token)), aes_key_(std::move(aes_key)), receive_id_(std::move(receive_id)) {}

std::string WecomCrypto::sign(std::string_view timestamp, std::string_view nonce,
                              std::string_view encrypted) const {
  return msg_signature(token_, timestamp, nonce, encrypted);
}

bool WecomCrypto::signature_matches(std::string_view timestamp, std::string_view nonce,
                                    std::string_view encrypted, std::string_view given) const {
  std::string lower(given);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return crypto::constant_time_equal(sign(timestamp, nonce, encrypted), lower);
}

Result<std::string> WecomCrypto::decrypt(std::string_view encrypted) const {
  auto raw = crypto::base64_decode(encrypted);
  if (!raw || raw->empty()) return Error{errc::decrypt_failed, "ciphertext is not valid base64"};
  auto plain = crypto::aes256_cbc_decrypt(aes_key_, iv_of(aes_key_), *raw, kPadBlock);
  if (!plain) return Error{errc::decrypt_failed, "ciphertext does not decrypt with the key"};
  const std::string_view text = *plain;
  if (text.size() < kRandomBytes + kLengthBytes) {
    return Error{errc::decrypt_failed, "plaintext shorter than its header"};
  }
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    length = (length << 8) | static_cast<unsigned char>(text[kRandomBytes + i]);
  }
  const std::string_view rest = text.substr(kRandomBytes + kLengthBytes);
  if (length > rest.size()) {
    return Error{errc::decrypt_failed, "length field runs past the plaintext"};
  }
  // The receive id tells which app (CorpID) the message was encrypted for: WeCom's SDKs fail with
  // -40005 when it differs.
  if (!crypto::constant_time_equal(rest.substr(length), receive_id_)) {
    return Error{errc::bad_token, "receive id does not match"};
  }
  return std::string(rest.substr(0, length));
}

Result<std::string> WecomCrypto::encrypt(std::string_view message,
                                         std::string_view random16) const {
  if (!random16.empty() && random16.size() != kRandomBytes) {
    return Error{errc::invalid_argument, "the random prefix must be 16 bytes"};
  }
  if (message.size() > UINT32_MAX) return Error{errc::invalid_argument, "message too long"};
  std::string plain = random16.empty() ? crypto::random_bytes(kRandomBytes) : std::string(random16);
  const auto length = static_cast<std::uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    plain.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  plain.append(message).append(receive_id_);
  auto cipher = crypto::aes256_cbc_encrypt(aes_key_, iv_of(aes_key_), plain, kPadBlock);
  if (!cipher) return cipher.error();
  return crypto::base64_encode(*cipher);
}

}  // namespace botgate::wecom
