#include "botgate/app/cli.hpp"

#include "botgate/app/config.hpp"
#include "botgate/app/logging.hpp"
#include "botgate/app/wiring.hpp"
#include "botgate/crypto/image_data.hpp"
#include "botgate/platforms/common/registry.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <iterator>

#ifndef BOTGATE_VERSION
#define BOTGATE_VERSION "0.0.0"
#endif

namespace botgate::app {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;


/// The message `botgate send` delivers: text, markdown, or an image (as a data: URL, which
/// the platforms that take image bytes upload) with an optional caption.
Result<OutgoingMessage> outgoing_for_cli(const std::string& text, bool markdown,
                                         const std::string& image_file) {
  OutgoingMessage message;
  if (!image_file.empty()) {
    std::ifstream in(image_file, std::ios::binary);
    if (!in) return Error{errc::invalid_argument, "cannot read the image file " + image_file};
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    // The send API's reading of image bytes; what it does not know goes as a PNG.
    const std::string_view media_type = crypto::image_media_type(bytes).value_or("image/png");
    message.segments.emplace_back(Image{crypto::image_data_url(media_type, bytes)});
  }
  if (!text.empty()) {
    if (markdown) {
      message.segments.emplace_back(Markdown{text});
    } else {
      message.segments.emplace_back(Text{text});
    }
  }
  if (message.segments.empty()) {
    return Error{errc::invalid_argument, "nothing to send: give TEXT or --image"};
  }
  return message;
}

void log_warnings(const Config& config) {
  for (const std::string& warning : config.warnings) spdlog::warn("{}", warning);
}

}  // namespace

int run_cli(int argc, char** argv, const GatewaySetup& setup,
            const PlatformSetup& add_platforms) {
  CLI::App cli{"botgate: one chat-bot gateway for QQ, Discord, Feishu, Lark and WeCom"};
  cli.require_subcommand(1);
  std::string config_path;
  bool online = false;
  std::string bot;
  std::string chat;
  std::string text;
  bool as_markdown = false;
  std::string image_file;

  auto* run = cli.add_subcommand("run", "serve webhooks and run every configured bot");
  run->add_option("--config,-c", config_path, "the TOML config file")->required();
  auto* check = cli.add_subcommand("check", "validate the config");
  check->add_option("--config,-c", config_path, "the TOML config file")->required();
  check->add_flag("--online", online, "also fetch each bot's access token");
  auto* send = cli.add_subcommand("send", "send one message and exit");
  send->add_option("--config,-c", config_path, "the TOML config file")->required();
  send->add_option("--bot", bot, "the [[bot]] name")->required();
  send->add_option("--chat", chat, "the chat id")->required();
  send->add_option("text", text, "the message text (with --image: an optional caption)");
  send->add_flag("--markdown", as_markdown, "send the text as markdown");
  send->add_option("--image", image_file, "send this image file (PNG, JPEG, GIF)");
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
    platforms::PlatformRegistry registry;
    platforms::register_all_platforms(registry);
    if (add_platforms) add_platforms(registry);
    Config config = load_config(config_path, registry);
    setup_logging(config.log.level, config.log.format);
    log_warnings(config);
    if (check->parsed()) {
      Gateway gateway(config, registry);  // builds every bot: platform values, rules too
      if (setup) setup(gateway);
      std::vector<std::string> warnings = config.warnings;
      warnings.insert(warnings.end(), gateway.skipped().begin(), gateway.skipped().end());
      std::cout << config_path << ": ok (" << config.bots.size() - gateway.skipped().size()
                << " bot(s) enabled";
      if (!warnings.empty()) std::cout << ", " << warnings.size() << " skipped";
      std::cout << ")\n";
      for (const std::string& warning : warnings) std::cout << "warning: " << warning << "\n";
      return online ? gateway.check_online() : kOk;
    }
    Gateway gateway(config, registry);
    if (setup) setup(gateway);
    if (send->parsed()) {
      auto message = outgoing_for_cli(text, as_markdown, image_file);
      if (!message) {
        std::cerr << "botgate: " << message.error().detail << "\n";
        return kUsage;
      }
      return gateway.send_one(bot, chat, std::move(*message));
    }
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
