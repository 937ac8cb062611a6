#pragma once
/// Feishu and Lark: one implementation, two hosts.

#include "botgate/platforms/common/registry.hpp"

namespace botgate::feishu {

platforms::PlatformDescriptor feishu_descriptor();
platforms::PlatformDescriptor lark_descriptor();

}  // namespace botgate::feishu
