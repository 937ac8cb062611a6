#include "botgate/platforms/common/registry.hpp"

#include <stdexcept>
#include <utility>

namespace botgate::platforms {

void PlatformRegistry::add(PlatformDescriptor descriptor) {
  // Two platforms under one name is a bug in all_platforms.cpp, not a user error.
  if (descriptor.name.empty()) {
    throw std::invalid_argument("platform registry: empty platform name");
  }
  if (platforms_.contains(descriptor.name)) {
    throw std::invalid_argument("platform registry: '" + descriptor.name + "' registered twice");
  }
  if (descriptor.builtin_bot) {
    if (const PlatformDescriptor* owner = builtin_bot_owner(descriptor.builtin_bot->name)) {
      throw std::invalid_argument("platform registry: built-in bot '" +
                                  descriptor.builtin_bot->name + "' of '" + descriptor.name +
                                  "' is already the built-in bot of '" + owner->name + "'");
    }
  }
  auto name = descriptor.name;
  platforms_.emplace(std::move(name), std::move(descriptor));
}

const PlatformDescriptor* PlatformRegistry::find(const std::string& name) const {
  const auto it = platforms_.find(name);
  return it == platforms_.end() ? nullptr : &it->second;
}

std::vector<std::string> PlatformRegistry::names() const {
  std::vector<std::string> result;
  result.reserve(platforms_.size());
  for (const auto& [name, descriptor] : platforms_) {
    result.push_back(name);
  }
  return result;
}

std::vector<std::string> PlatformRegistry::configurable_names() const {
  std::vector<std::string> result;
  for (const auto& [name, descriptor] : platforms_) {
    if (!descriptor.builtin_bot) result.push_back(name);
  }
  return result;
}

std::vector<const PlatformDescriptor*> PlatformRegistry::with_builtin_bot() const {
  std::vector<const PlatformDescriptor*> result;
  for (const auto& [name, descriptor] : platforms_) {
    if (descriptor.builtin_bot) result.push_back(&descriptor);
  }
  return result;
}

const PlatformDescriptor* PlatformRegistry::builtin_bot_owner(const std::string& bot) const {
  for (const auto& [name, descriptor] : platforms_) {
    if (descriptor.builtin_bot && descriptor.builtin_bot->name == bot) return &descriptor;
  }
  return nullptr;
}

}  // namespace botgate::platforms
