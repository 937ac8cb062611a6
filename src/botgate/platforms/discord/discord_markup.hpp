#pragma once
/// OutgoingMessage segments -> Discord message content (Discord notes section 6.1): `content` is
/// Discord-flavoured markdown of at most 2000 characters, images become embeds (at most 10 a
/// message). There is no separate markdown message type.

#include "botgate/core/error.hpp"
#include "botgate/core/outgoing.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::discord {

/// "content: <= 2000 characters".
inline constexpr std::size_t kMaxContentChars = 2000;
/// "embeds: <= 10 rich embeds".
inline constexpr std::size_t kMaxEmbeds = 10;
/// allowed_mentions "users: Array of user_ids to mention (Max size of 100)".
inline constexpr std::size_t kMaxAllowedUsers = 100;

/// What a message becomes: the `content` string, and the URLs of its images, each sent as an
/// embed {"image":{"url":..}}.
struct DiscordContent {
  std::string content;
  std::vector<std::string> image_urls;
  /// The message holds a Mention of "all": "@everyone" in `content` is meant to notify, so the
  /// sender allows it in `allowed_mentions`.
  bool mentions_everyone = false;
  /// The users of the message's Mention segments (at most kMaxAllowedUsers, each once): the only
  /// ones `allowed_mentions` lets a `<@id>` in `content` notify. A `<@id>` typed in Text or
  /// Markdown shows as a mention and notifies nobody.
  std::vector<std::string> mentioned_users;

  bool operator==(const DiscordContent&) const = default;
};

/// Text and Markdown as they are; Mention -> "<@id>" ("all" -> "@everyone"); Link ->
/// "[text](url)", or the bare URL when the text is empty or equal to it; Image -> an embed.
/// An image without an http(s) URL (a data: URL, a platform key) fails with platform_rejected:
/// Discord embeds only fetch URLs, and uploads are not supported.
Result<DiscordContent> render_discord_content(const std::vector<Segment>& segments);

/// {"content", "embeds"?, "allowed_mentions"}: what a created message, an edited interaction
/// response and an inline interaction response (`data`) share. Only the message's Mention
/// segments notify: the users named in them, and @everyone for a Mention of "all" (nothing is
/// parsed from the text, so user text cannot ping anyone); `reply` also notifies the author of
/// the message replied to.
boost::json::object discord_message_body(const DiscordContent& content, bool reply);

/// The number of Unicode code points in UTF-8 `text` (bytes that are not continuation bytes).
std::size_t count_code_points(std::string_view text) noexcept;

/// Cuts `text` into pieces of at most `max_chars` code points, never inside a UTF-8 sequence.
/// A cut goes at the last newline in the window, else at the last space, when that keeps at
/// least half the window in the piece (no slivers); else after exactly `max_chars` code points.
/// The newline or space at a cut is dropped. Empty text gives no pieces.
std::vector<std::string> split_discord_content(std::string text,
                                               std::size_t max_chars = kMaxContentChars);

/// Splits a message whose content is over 2000 code points or that has more than 10 images:
/// the content in pieces (as Markdown segments, "@everyone" and each "<@id>" of a mentioned
/// user kept as a Mention when the message mentioned them), the first 10 images on the last
/// piece, further images 10 a message after it. Every part keeps the addressing (chat,
/// reply_to, reply context and credential). A message within the limits, or one that cannot be
/// rendered, comes back whole.
std::vector<OutgoingMessage> split_discord_message(OutgoingMessage message);

}  // namespace botgate::discord
