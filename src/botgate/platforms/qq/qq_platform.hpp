#pragma once
/// QQ (QQ Bot Open Platform): gateway or webhook mode for events, OpenAPI for replies.

#include "botgate/platforms/common/registry.hpp"

namespace botgate::qq {

platforms::PlatformDescriptor qq_descriptor();

}  // namespace botgate::qq
