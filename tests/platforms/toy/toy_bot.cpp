// botgate with one more platform, added by a program built on the library: botgate's own
// command line (run | check | send) with platform "toy" (toy_platform.hpp) beside the built-in
// ones, so `[[bot]] platform = "toy"` works in its config. all_platforms.cpp is not touched.
// tests/integration/test_toy_platform.py runs this program.
#include "platforms/toy/toy_platform.hpp"

#include <botgate/app/cli.hpp>
#include <botgate/platforms/common/registry.hpp>

int main(int argc, char** argv) {
  return botgate::app::run_cli(argc, argv, {}, [](botgate::platforms::PlatformRegistry& registry) {
    registry.add(botgate::toy::toy_descriptor());
  });
}
