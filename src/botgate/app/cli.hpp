#pragma once
/// botgate run | check | send | version. Exit status: 0 success, 2 bad usage or bad config,
/// 1 any other failure.

namespace botgate::app {

int run_cli(int argc, char** argv);

}  // namespace botgate::app
