#include "botgate/platforms/qq/qq_intents.hpp"

#include <array>
#include <stdexcept>

namespace botgate::qq {
namespace {

// QQ notes 4.4 (bot-docs `event-emit.md`, botgo `dto/websocket_intent.go`). botgo's 1<<23
// "enter AIO" is SDK-only and undocumented, so it has no name here.
constexpr std::array<QqIntent, 11> kIntents{{
    {"guilds", 1ULL << 0, true},
    {"guild_members", 1ULL << 1, true},
    {"guild_messages", 1ULL << 9, false},  // private-domain bots only
    {"guild_message_reactions", 1ULL << 10, false},
    {"direct_message", 1ULL << 12, false},
    {"group_and_c2c_event", 1ULL << 25, false},
    {"interaction", 1ULL << 26, false},
    {"message_audit", 1ULL << 27, false},
    {"forums_event", 1ULL << 28, false},  // private-domain bots only
    {"audio_action", 1ULL << 29, false},
    {"public_guild_messages", 1ULL << 30, true},
}};

}  // namespace

std::span<const QqIntent> all_qq_intents() { return kIntents; }

std::uint64_t qq_intents_from_names(const std::vector<std::string>& names) {
  std::uint64_t mask = 0;
  for (const std::string& name : names) {
    std::uint64_t bit = 0;
    for (const QqIntent& intent : kIntents) {
      if (intent.name == name) {
        bit = intent.bit;
      }
    }
    if (bit == 0) {
      throw std::invalid_argument("unknown QQ intent \"" + name +
                                  "\" (names are lower case, e.g. public_guild_messages, "
                                  "direct_message, group_and_c2c_event)");
    }
    mask |= bit;
  }
  return mask;
}

const std::vector<std::string>& default_qq_intent_names() {
  static const std::vector<std::string> names{"public_guild_messages", "direct_message",
                                              "group_and_c2c_event"};
  return names;
}

std::uint64_t default_qq_intents() { return qq_intents_from_names(default_qq_intent_names()); }

std::vector<std::string> qq_intent_names(std::uint64_t mask) {
  std::vector<std::string> out;
  for (const QqIntent& intent : kIntents) {
    if ((mask & intent.bit) != 0) {
      out.emplace_back(intent.name);
    }
  }
  return out;
}

}  // namespace botgate::qq
