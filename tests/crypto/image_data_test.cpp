#include "botgate/crypto/image_data.hpp"

#include "botgate/crypto/encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::crypto {
namespace {

using namespace std::string_view_literals;

const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "rest of a png";

TEST(ImageData, MediaTypesBySignature) {
  EXPECT_EQ(image_media_type(kPng), "image/png");
  EXPECT_EQ(image_media_type("\xff\xd8\xff\xe0 jfif"), "image/jpeg");
  EXPECT_EQ(image_media_type("GIF89a..."), "image/gif");
  EXPECT_EQ(image_media_type("GIF87a..."), "image/gif");
  EXPECT_EQ(image_media_type("RIFF\x10\0\0\0WEBPVP8 "sv), "image/webp");
  EXPECT_FALSE(image_media_type("RIFF\x10\0\0\0WAVE"sv));
  EXPECT_FALSE(image_media_type("RIFFWEBP"));  // too short to hold the WebP tag at 8
  EXPECT_FALSE(image_media_type(std::string("\x89PNG\r\n", 6)));
  EXPECT_FALSE(image_media_type(""));
  EXPECT_EQ(image_data_url("image/gif", "GIF8"), "data:image/gif;base64,R0lGOA==");
}

TEST(ImageData, FromBase64MakesADataUrlOfItsOwnType) {
  const auto image = image_from_base64(base64_encode(kPng));
  EXPECT_EQ(image.problem, "");
  EXPECT_EQ(image.data_url, "data:image/png;base64," + base64_encode(kPng));
}

TEST(ImageData, FromBase64SaysWhyNot) {
  EXPECT_EQ(image_from_base64("").problem, "empty");
  EXPECT_EQ(image_from_base64("iVBOR w0K").problem,
            "not valid base64 (standard alphabet, with padding)");
  EXPECT_EQ(image_from_base64(base64_encode("plain text, not an image")).problem,
            "not a PNG, JPEG, GIF or WebP image");
  const std::string huge = kPng + std::string(kMaxImageBytes, 'x');
  EXPECT_EQ(image_from_base64(base64_encode(huge)).problem,
            "the image is over " + std::to_string(kMaxImageBytes) + " bytes");
  EXPECT_EQ(image_from_base64("").data_url, "");
}

}  // namespace
}  // namespace botgate::crypto
