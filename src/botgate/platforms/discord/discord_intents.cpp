#include "botgate/platforms/discord/discord_intents.hpp"

#include <array>
#include <stdexcept>

namespace botgate::discord {
namespace {

// https://discord.com/developers/docs/events/gateway#list-of-intents
constexpr std::array<DiscordIntent, 21> kIntents{{
    {"guilds", 1ULL << 0, false, ""},
    {"guild_members", 1ULL << 1, true, "Server Members Intent"},
    {"guild_moderation", 1ULL << 2, false, ""},
    {"guild_expressions", 1ULL << 3, false, ""},
    {"guild_integrations", 1ULL << 4, false, ""},
    {"guild_webhooks", 1ULL << 5, false, ""},
    {"guild_invites", 1ULL << 6, false, ""},
    {"guild_voice_states", 1ULL << 7, false, ""},
    {"guild_presences", 1ULL << 8, true, "Presence Intent"},
    {"guild_messages", 1ULL << 9, false, ""},
    {"guild_message_reactions", 1ULL << 10, false, ""},
    {"guild_message_typing", 1ULL << 11, false, ""},
    {"direct_messages", 1ULL << 12, false, ""},
    {"direct_message_reactions", 1ULL << 13, false, ""},
    {"direct_message_typing", 1ULL << 14, false, ""},
    {"message_content", 1ULL << 15, true, "Message Content Intent"},
    {"guild_scheduled_events", 1ULL << 16, false, ""},
    {"auto_moderation_configuration", 1ULL << 20, false, ""},
    {"auto_moderation_execution", 1ULL << 21, false, ""},
    {"guild_message_polls", 1ULL << 24, false, ""},
    {"direct_message_polls", 1ULL << 25, false, ""},
}};

// Names the docs used before the intents were renamed; configs copied from older guides use them.
struct Alias {
  std::string_view old_name;
  std::uint64_t bit;
};
constexpr std::array<Alias, 2> kAliases{{
    {"guild_bans", 1ULL << 2},
    {"guild_emojis_and_stickers", 1ULL << 3},
}};

std::uint64_t bit_of(std::string_view name) {
  for (const DiscordIntent& intent : kIntents) {
    if (intent.name == name) {
      return intent.bit;
    }
  }
  for (const Alias& alias : kAliases) {
    if (alias.old_name == name) {
      return alias.bit;
    }
  }
  return 0;
}

}  // namespace

std::span<const DiscordIntent> all_discord_intents() { return kIntents; }

std::uint64_t discord_intents_from_names(const std::vector<std::string>& names) {
  std::uint64_t mask = 0;
  for (const std::string& name : names) {
    const std::uint64_t bit = bit_of(name);
    if (bit == 0) {
      throw std::invalid_argument("unknown Discord intent \"" + name +
                                  "\" (names are lower case, e.g. guild_messages, "
                                  "direct_messages, message_content)");
    }
    mask |= bit;
  }
  return mask;
}

const std::vector<std::string>& default_discord_intent_names() {
  static const std::vector<std::string> names{"guilds", "guild_messages", "direct_messages",
                                              "message_content"};
  return names;
}

std::uint64_t default_discord_intents() {
  return discord_intents_from_names(default_discord_intent_names());
}

std::vector<DiscordIntent> privileged_discord_intents(std::uint64_t mask) {
  std::vector<DiscordIntent> out;
  for (const DiscordIntent& intent : kIntents) {
    if (intent.privileged && (mask & intent.bit) != 0) {
      out.push_back(intent);
    }
  }
  return out;
}

}  // namespace botgate::discord
