#include "botgate/platforms/discord/discord_snowflake.hpp"

#include <charconv>
#include <system_error>

namespace botgate::discord {

std::chrono::system_clock::time_point snowflake_time(std::string_view id) noexcept {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (id.empty() || ec != std::errc{} || end != id.data() + id.size()) {
    return {};
  }
  const auto ms = static_cast<std::int64_t>(value >> 22) + kDiscordEpochMs;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace botgate::discord
