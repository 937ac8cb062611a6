#include "botgate/net/token_call.hpp"

#include <spdlog/spdlog.h>

namespace botgate::net {

void log_token_rejected(std::string_view bot_name) {
  spdlog::info("bot {}: access token rejected by the API, fetching a new one", bot_name);
}

}  // namespace botgate::net
