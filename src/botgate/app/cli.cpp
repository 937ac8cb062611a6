#include "botgate/app/cli.hpp"

#include "botgate/app/config.hpp"
#include "botgate/app/logging.hpp"
#include "botgate/app/wiring.hpp"
#include "botgate/platforms/common/registry.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#ifndef BOTGATE_VERSION
#define BOTGATE_VERSION "0.0.0"
#endif

namespace botgate::app {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;

Config load(const std::string& path) {
  platforms::PlatformRegistry registry;
  platforms::register_all_platforms(registry);
  return load_config(path, registry);
}

void log_warnings(const Config& config) {
  for (const std::string& warning : config.warnings) spdlog::warn("{}", warning);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"botgate: one chat-bot gateway for QQ, Discord, Feishu, Lark and WeCom"};
  cli.require_subcommand(1);
  std::string config_path;
  bool online = false;
  std::string bot;
  std::string chat;
  std::string text;

  auto* run = cli.add_subcommand("run", "serve webhooks and run every configured bot");
  run->add_option("--config,-c", config_path, "the TOML config file")->required();
  auto* check = cli.add_subcommand("check", "validate the config");
  check->add_option("--config,-c", config_path, "the TOML config file")->required();
  check->add_flag("--online", online, "also fetch each bot's access token");
  auto* send = cli.add_subcommand("send", "send one message and exit");
  send->add_option("--config,-c", config_path, "the TOML config file")->required();
  send->add_option("--bot", bot, "the [[bot]] name")->required();
  send->add_option("--chat", chat, "the chat id")->required();
  send->add_option("text", text, "the message text")->required();
  auto* version = cli.add_subcommand("version", "print the version");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);
    return kUsage;
  }

  if (version->parsed()) {
    std::cout << "botgate " << BOTGATE_VERSION << "\n";
    return kOk;
  }

  try {
    Config config = load(config_path);
    setup_logging(config.log.level, config.log.format);
    log_warnings(config);
    if (check->parsed()) {
      Gateway gateway(config);  // builds every bot: platform values and rules are checked too
      std::vector<std::string> warnings = config.warnings;
      warnings.insert(warnings.end(), gateway.skipped().begin(), gateway.skipped().end());
      std::cout << config_path << ": ok (" << config.bots.size() - gateway.skipped().size()
                << " bot(s) enabled";
      if (!warnings.empty()) std::cout << ", " << warnings.size() << " skipped";
      std::cout << ")\n";
      for (const std::string& warning : warnings) std::cout << "warning: " << warning << "\n";
      return online ? gateway.check_online() : kOk;
    }
    Gateway gateway(config);
    if (send->parsed()) return gateway.send_one(bot, chat, text);
    return gateway.run();
  } catch (const ConfigError& e) {
    std::cerr << "botgate: config error: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "botgate: " << e.what() << "\n";
    return kFailure;
  }
}

}  // namespace botgate::app
