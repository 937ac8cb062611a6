#pragma once
/// OutgoingMessage segments -> WeCom message bodies (text, markdown, image, news), and the split
/// of long messages by WeCom's byte limits.

#include "botgate/core/error.hpp"
#include "botgate/core/outgoing.hpp"
#include "botgate/platforms/wecom/wecom_config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace botgate::wecom {

/// Byte limits of UTF-8 content (wecom.md §2.1, §4.2, §7.1).
inline constexpr std::size_t kTextLimit = 2048;
inline constexpr std::size_t kMarkdownLimit = 4096;     // group bots
inline constexpr std::size_t kAppMarkdownLimit = 2048;  // apps (uncertain; the text limit)
inline constexpr std::size_t kAibotMarkdownLimit = 20480;
/// An app message goes out with "enable_duplicate_check":1 and this interval: WeCom delivers
/// an identical message (same JSON, same recipient) once within it ("重复消息检查的时间间隔，
/// 默认1800s，最大不超过4小时", doc 90236), so a send whose answer was lost can be sent again.
/// The price: a bot's identical reply to the same member within the interval is delivered
/// once. Five minutes covers the outbox's first retries (1, 2, 4 ... 128 s: 255 s in all)
/// and keeps that price small.
inline constexpr std::chrono::seconds kDuplicateCheckInterval{300};
/// A group bot's image, raw bytes before base64.
inline constexpr std::size_t kImageLimit = 2 * 1024 * 1024;
inline constexpr std::size_t kMaxArticles = 8;

struct NewsArticle {
  std::string title;
  std::string url;
  std::string picurl;
};

/// One WeCom message, before it becomes JSON.
struct WecomContent {
  std::string msgtype;                      // "text", "markdown", "image" or "news"
  std::string content;                      // text and markdown
  std::vector<std::string> mentioned_list;  // text: userids to @
  std::string image_base64;                 // image: the raw bytes in base64
  std::string image_md5;                    // image: lower hex MD5 of the raw bytes
  std::vector<NewsArticle> articles;        // news: 1..8
};

/// Chooses the message type and builds it:
/// - a group bot message that is one `data:...;base64,` image -> image (over 2 MB:
///   platform_rejected, so nothing is sent);
/// - only links (at most 8), with an optional http(s) image for the first one's picture -> news
///   (not for AI bots);
/// - markdown, links or image URLs, or any AI bot message -> markdown (mentions as `<@userid>`,
///   links as `[text](url)`, images as links);
/// - otherwise text, with mentions in `mentioned_list` (group bots).
/// A group bot's reply @s the sender: `mentioned_list` for text, a leading `<@userid>` for
/// markdown. Images that the kind cannot send inline become "[image]".
/// Errors: platform_rejected for an empty message or an unusable image.
Result<WecomContent> encode_content(const OutgoingMessage& message, WecomKind kind);

/// The JSON body: {"msgtype":..,"<msgtype>":{..}}, plus for an app (when `touser` is not
/// empty) "touser", "agentid", "enable_duplicate_check":1 and "duplicate_check_interval".
std::string message_json(const WecomContent& content, std::string_view touser = {},
                         std::int64_t agent_id = 0);

/// Splits `message` into messages that WeCom takes one by one: for a group bot each inline
/// image on its own, and text or markdown longer than the kind's byte limit in pieces (see
/// split_utf8). Only the first piece of a reply @s the sender.
std::vector<OutgoingMessage> split_message(OutgoingMessage message, WecomKind kind);

/// An AI bot's replies to one event, as the messages to send. A response_url takes one POST
/// ("仅可使用一次", wecom.md 7.1), so the replies that go to one (the same reply_credential)
/// become one markdown message: their contents joined by a blank line, cut to
/// kAibotMarkdownLimit bytes (the cut marked with "…"; `cut` is set then). Each other reply is
/// kept as it is.
std::vector<OutgoingMessage> merge_for_response_url(std::vector<OutgoingMessage> replies,
                                                    bool* cut = nullptr);

/// Cuts `text` into pieces of at most `max_bytes` bytes, never inside a UTF-8 character,
/// preferring the last newline (else space) in the second half of a piece; the newline or space
/// at a cut is dropped. Empty text gives no pieces.
std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace botgate::wecom
