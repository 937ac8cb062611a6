#pragma once
/// Discord ids (snowflakes) and the creation time they carry, shared by the gateway protocol and
/// the HTTP interactions handler.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace botgate::discord {

/// 2015-01-01T00:00:00Z in Unix milliseconds: the zero of a snowflake's timestamp.
inline constexpr std::int64_t kDiscordEpochMs = 1'420'070'400'000;

/// The creation time of snowflake `id`: milliseconds since the Discord epoch in the top 42 bits
/// (`(id >> 22) + kDiscordEpochMs`). Ids are decimal strings in JSON (notes pitfall 10); one that
/// is not a decimal 64-bit number gives the zero time_point.
std::chrono::system_clock::time_point snowflake_time(std::string_view id) noexcept;

}  // namespace botgate::discord
