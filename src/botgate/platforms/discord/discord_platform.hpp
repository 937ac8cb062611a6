#pragma once
/// Discord: the gateway for messages, HTTP interactions at /webhook/<bot>, REST for replies.

#include "botgate/platforms/common/registry.hpp"

namespace botgate::discord {

platforms::PlatformDescriptor discord_descriptor();

}  // namespace botgate::discord
