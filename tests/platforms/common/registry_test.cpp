#include "botgate/platforms/common/registry.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::platforms {
namespace {

PlatformDescriptor descriptor(const std::string& name) {
  PlatformDescriptor result;
  result.name = name;
  result.default_api_base = "https://example.com";
  result.settings = {{"app_id", SettingType::string, true}};
  result.make = [](const BotSettings&, PlatformServices&) { return BotParts{}; };
  return result;
}

TEST(PlatformRegistryTest, FindsAddedPlatforms) {
  PlatformRegistry registry;
  registry.add(descriptor("lark"));
  registry.add(descriptor("feishu"));
  const auto* feishu = registry.find("feishu");
  ASSERT_NE(feishu, nullptr);
  EXPECT_EQ(feishu->name, "feishu");
  ASSERT_EQ(feishu->settings.size(), 1u);
  EXPECT_EQ(feishu->settings[0].key, "app_id");
  EXPECT_TRUE(static_cast<bool>(feishu->make));
  EXPECT_EQ(registry.find("discord"), nullptr);
}

TEST(PlatformRegistryTest, NamesAreSorted) {
  PlatformRegistry registry;
  EXPECT_TRUE(registry.names().empty());
  registry.add(descriptor("lark"));
  registry.add(descriptor("discord"));
  registry.add(descriptor("feishu"));
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"discord", "feishu", "lark"}));
}

TEST(PlatformRegistryTest, RejectsDuplicatesAndEmptyNames) {
  PlatformRegistry registry;
  registry.add(descriptor("qq"));
  EXPECT_THROW(registry.add(descriptor("qq")), std::invalid_argument);
  EXPECT_THROW(registry.add(descriptor("")), std::invalid_argument);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"qq"}));
}

}  // namespace
}  // namespace botgate::platforms
