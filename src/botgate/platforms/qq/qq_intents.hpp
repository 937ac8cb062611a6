#pragma once
/// QQ gateway intents by name: the config's `intents = [...]` list turned into the bitmask that
/// identify carries (QQ notes 4.4). Names are QQ's flag names in lower case. Only the gateway uses
/// intents; webhook bots choose their events in the QQ console instead.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::qq {

/// One intent: its config name, its bit, and whether QQ grants it to every bot.
struct QqIntent {
  std::string_view name;
  std::uint64_t bit;
  /// GUILDS, GUILD_MEMBERS and PUBLIC_GUILD_MESSAGES are allowed by default; the others need
  /// approval, and asking for one that was not granted closes the socket with 4014 (notes 4.4).
  bool allowed_by_default;
};

/// Every intent botgate knows by name, in bit order.
std::span<const QqIntent> all_qq_intents();

/// The bitmask of `names`. Throws `std::invalid_argument` naming the first unknown name.
std::uint64_t qq_intents_from_names(const std::vector<std::string>& names);

/// The set used when the config has no `intents`: public_guild_messages, direct_message,
/// group_and_c2c_event (1<<30 | 1<<12 | 1<<25 = 1107300352), the set a public chat bot uses for
/// guild @-messages, guild DMs, and group @-messages with single chats (notes 4.4).
const std::vector<std::string>& default_qq_intent_names();
std::uint64_t default_qq_intents();

/// The names of the intents in `mask` (in bit order), e.g. for saying what to check after 4014.
std::vector<std::string> qq_intent_names(std::uint64_t mask);

}  // namespace botgate::qq
