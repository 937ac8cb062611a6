#pragma once
/// Discord gateway intents by name: the config's `intents = [...]` list turned into the bitmask
/// that identify carries (Discord notes 3.5). Names are Discord's flag names in lower case.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::discord {

/// One intent: its config name, its bit, and whether the portal must enable it.
struct DiscordIntent {
  std::string_view name;
  std::uint64_t bit;
  bool privileged;
  /// The toggle's label on the Bot page of the Developer Portal (privileged intents only).
  std::string_view portal_label;
};

/// Every intent Discord documents, in bit order.
std::span<const DiscordIntent> all_discord_intents();

/// The bitmask of `names`. Throws `std::invalid_argument` naming the first unknown name.
/// Besides the documented names, the old names `guild_bans` (now guild_moderation) and
/// `guild_emojis_and_stickers` (now guild_expressions) are accepted.
std::uint64_t discord_intents_from_names(const std::vector<std::string>& names);

/// The set used when the config has no `intents`: guilds, guild_messages, direct_messages,
/// message_content (37377). message_content is privileged: the portal must enable it too.
const std::vector<std::string>& default_discord_intent_names();
std::uint64_t default_discord_intents();

/// The privileged intents in `mask`, e.g. for saying what to enable after close code 4014.
std::vector<DiscordIntent> privileged_discord_intents(std::uint64_t mask);

}  // namespace botgate::discord
