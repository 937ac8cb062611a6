#pragma once
/// WXBizMsgCrypt, WeCom's callback crypto (doc 91144 "加解密方案说明"), for group bots, apps and
/// AI bots alike:
///   AESKey = base64_decode(EncodingAESKey + "="), IV = AESKey[0:16], AES-256-CBC,
///   PKCS#7 padding to a multiple of 32 bytes;
///   plaintext = 16 random bytes || 4-byte big-endian length || msg || receive id;
///   msg_signature = lower hex SHA-1 of the sorted concatenation of token, timestamp, nonce and
///   the base64 ciphertext.

#include "botgate/core/error.hpp"

#include <string>
#include <string_view>

namespace botgate::wecom {

/// The 32-byte AES key of a 43-character EncodingAESKey. Anything else: invalid_argument whose
/// detail says what is wrong (never the key).
Result<std::string> decode_encoding_aes_key(std::string_view encoding_aes_key);

/// msg_signature: lower hex SHA-1 over token, timestamp, nonce and `encrypted`, sorted byte-wise
/// and joined without separators.
std::string msg_signature(std::string_view token, std::string_view timestamp,
                          std::string_view nonce, std::string_view encrypted);

/// One bot's callback crypto. Immutable: safe to use from any thread at once.
class WecomCrypto {
 public:
  /// `aes_key` is the decoded 32-byte key (decode_encoding_aes_key); `receive_id` the value
  /// every plaintext must end with (the CorpID for apps, empty for group and AI bots).
  WecomCrypto(std::string token, std::string aes_key, std::string receive_id);

  /// Compares `given` (hex, either case) with the signature of the other three in constant time.
  bool signature_matches(std::string_view timestamp, std::string_view nonce,
                         std::string_view encrypted, std::string_view given) const;

  /// The message inside base64 `encrypted`. Bad base64, a length that is not whole blocks, bad
  /// padding, or a length field that runs past the plaintext: decrypt_failed. A receive id other
  /// than ours: bad_token.
  Result<std::string> decrypt(std::string_view encrypted) const;

  /// The base64 ciphertext of `message` with our receive id. `random16` is the 16-byte prefix;
  /// empty means fresh random bytes (tests pass a fixed one to reproduce WeCom's vectors).
  Result<std::string> encrypt(std::string_view message, std::string_view random16 = {}) const;

  /// msg_signature with our token.
  std::string sign(std::string_view timestamp, std::string_view nonce,
                   std::string_view encrypted) const;

 private:
  std::string token_;
  std::string aes_key_;
  std::string receive_id_;
};

}  // namespace botgate::wecom
