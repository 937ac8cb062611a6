#pragma once
/// botgate run | check | send | version. Exit status: 0 success, 2 bad usage or bad config,
/// 1 any other failure.

#include <functional>

namespace botgate::app {

class Gateway;

/// What a program built on the library does to the Gateway before it starts: add its C++
/// handlers (Gateway::add_handler).
using GatewaySetup = std::function<void(Gateway&)>;

/// botgate's command line. `setup`, when given, is called on the Gateway of `run`, `send` and
/// `check` once it is built and before it starts (`check` builds the same Gateway that `run`
/// would). botgate's own main passes none; examples/ping_handler.cpp passes one.
int run_cli(int argc, char** argv, const GatewaySetup& setup = {});

}  // namespace botgate::app
