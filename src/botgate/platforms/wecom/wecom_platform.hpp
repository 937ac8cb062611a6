#pragma once
/// WeCom (企业微信): group bots, self-built apps and AI bots, one platform with a `kind` key.

#include "botgate/platforms/common/registry.hpp"

namespace botgate::wecom {

/// "wecom", default api_base https://qyapi.weixin.qq.com.
platforms::PlatformDescriptor wecom_descriptor();

}  // namespace botgate::wecom
