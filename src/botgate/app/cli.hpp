#pragma once
/// botgate run | check | send | version. Exit status: 0 success, 2 bad usage or bad config,
/// 1 any other failure.

#include <functional>

namespace botgate::platforms {
class PlatformRegistry;
}

namespace botgate::app {

class Gateway;

/// What a program built on the library does to the Gateway before it starts: add its C++
/// handlers (Gateway::add_handler).
using GatewaySetup = std::function<void(Gateway&)>;

/// What a program built on the library adds to botgate's platforms (PlatformRegistry::add)
/// before the config is read: [[bot]] tables may then name them, as they name botgate's own.
using PlatformSetup = std::function<void(platforms::PlatformRegistry&)>;

/// botgate's command line. `setup`, when given, is called on the Gateway of `run`, `send` and
/// `check` once it is built and before it starts (`check` builds the same Gateway that `run`
/// would). botgate's own main passes none; examples/ping_handler.cpp passes one.
/// `add_platforms`, when given, adds the program's own platforms beside botgate's
/// (docs/adding-a-platform.md; tests/platforms/toy/toy_bot.cpp passes one).
int run_cli(int argc, char** argv, const GatewaySetup& setup = {},
            const PlatformSetup& add_platforms = {});

}  // namespace botgate::app
