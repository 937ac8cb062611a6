#include "botgate/app/cli.hpp"

int main(int argc, char** argv) { return botgate::app::run_cli(argc, argv); }
