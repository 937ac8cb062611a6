#pragma once
/// Image bytes as a message carries them: an Image segment's `data:` URL, which the platforms
/// that take bytes upload from. The send API (`image_base64`), OneBot's `base64://` images and
/// `botgate send --image` all make theirs here, so each checks the same things.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace botgate::crypto {

/// The largest image botgate takes as bytes (decoded); the body limits usually stop a request
/// long before this.
inline constexpr std::size_t kMaxImageBytes = 10 * 1024 * 1024;

/// The media type of image bytes by their signature: PNG, JPEG, GIF or WebP; nullopt for
/// anything else.
std::optional<std::string_view> image_media_type(std::string_view bytes);

/// "data:<media_type>;base64,<bytes in base64>".
std::string image_data_url(std::string_view media_type, std::string_view bytes);

/// Base64 image bytes (standard alphabet, padded) as a `data:` URL; or, in `problem`, why they
/// are not an image botgate takes (empty, not base64, too large, not PNG/JPEG/GIF/WebP).
struct ImageData {
  std::string data_url;
  std::string problem;  // empty when data_url is set
};
ImageData image_from_base64(std::string_view encoded);

}  // namespace botgate::crypto
