#include "botgate/platforms/common/registry.hpp"

#include <stdexcept>
#include <utility>

namespace botgate::platforms {

void PlatformRegistry::add(PlatformDescriptor descriptor) {
  // Two platforms under one name is a bug in all_platforms.cpp, not a user error.
  if (descriptor.name.empty()) {
    throw std::invalid_argument("platform registry: empty platform name");
  }
  auto name = descriptor.name;
  const auto [it, inserted] = platforms_.try_emplace(std::move(name), std::move(descriptor));
  if (!inserted) {
    throw std::invalid_argument("platform registry: '" + it->first + "' registered twice");
  }
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

}  // namespace botgate::platforms
