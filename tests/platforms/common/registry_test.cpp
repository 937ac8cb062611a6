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

TEST(PlatformRegistryTest, BuiltInBotsAreDeclaredByTheirPlatform) {
  PlatformRegistry registry;
  registry.add(descriptor("qq"));
  PlatformDescriptor console = descriptor("console");
  console.builtin_bot = BuiltinBot{"chat", "the console's chat"};
  registry.add(console);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"console", "qq"}));
  EXPECT_EQ(registry.configurable_names(), (std::vector<std::string>{"qq"}));
  ASSERT_EQ(registry.with_builtin_bot().size(), 1u);
  EXPECT_EQ(registry.with_builtin_bot()[0]->name, "console");
  ASSERT_NE(registry.builtin_bot_owner("chat"), nullptr);
  EXPECT_EQ(registry.builtin_bot_owner("chat")->name, "console");
  EXPECT_EQ(registry.builtin_bot_owner("console"), nullptr) << "a platform name is no bot name";
  EXPECT_EQ(registry.builtin_bot_owner("qq"), nullptr);

  // One built-in bot name, one platform.
  PlatformDescriptor other = descriptor("other");
  other.builtin_bot = BuiltinBot{"chat", "another chat"};
  EXPECT_THROW(registry.add(other), std::invalid_argument);
  EXPECT_EQ(registry.find("other"), nullptr);
}

}  // namespace
}  // namespace botgate::platforms
