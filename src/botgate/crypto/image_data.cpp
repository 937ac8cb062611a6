#include "botgate/crypto/image_data.hpp"

#include "botgate/crypto/encoding.hpp"

namespace botgate::crypto {

std::optional<std::string_view> image_media_type(std::string_view bytes) {
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (bytes.starts_with("\xff\xd8\xff")) return "image/jpeg";
  if (bytes.starts_with("GIF87a") || bytes.starts_with("GIF89a")) return "image/gif";
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") {
    return "image/webp";
  }
  return std::nullopt;
}

std::string image_data_url(std::string_view media_type, std::string_view bytes) {
  return "data:" + std::string(media_type) + ";base64," + base64_encode(bytes);
}

ImageData image_from_base64(std::string_view encoded) {
  if (encoded.empty()) return {{}, "empty"};
  auto bytes = base64_decode(encoded);
  if (!bytes) return {{}, "not valid base64 (standard alphabet, with padding)"};
  if (bytes->size() > kMaxImageBytes) {
    return {{}, "the image is over " + std::to_string(kMaxImageBytes) + " bytes"};
  }
  const auto media_type = image_media_type(*bytes);
  if (!media_type) return {{}, "not a PNG, JPEG, GIF or WebP image"};
  return {image_data_url(*media_type, *bytes), {}};
}

}  // namespace botgate::crypto
