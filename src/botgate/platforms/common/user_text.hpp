#pragma once
/// User text sent back into a chat (an echo, a rule's {text}) must never become a mention of
/// everyone or of someone else: only a Mention segment may notify anyone. Each platform's markup
/// passes its Text segments through these helpers, choosing the tokens its parser knows.

#include <initializer_list>
#include <string>
#include <string_view>

namespace botgate::platforms {

/// U+200B ZERO WIDTH SPACE: shows nothing, and a token split by it is no longer the token.
inline constexpr std::string_view kZeroWidthSpace = "\u200b";

/// `text` with U+200B inserted after the first byte of every occurrence of each token (ASCII
/// letters compared without case): "<at" -> "<\u200bat", "@everyone" -> "@\u200beveryone".
/// Where U+200B already follows, nothing is added, so a second pass changes nothing. Tokens
/// must be ASCII.
std::string break_tokens(std::string_view text, std::initializer_list<std::string_view> tokens);

/// `text` with `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`.
std::string escape_html_entities(std::string_view text);

}  // namespace botgate::platforms
