#pragma once
/// What every sender of streamed replies needs (core/stream.hpp), and the rendering of a
/// platform that cannot show a message growing: the final text as ordinary messages.

#include "botgate/core/outgoing.hpp"
#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace botgate {

class Sender;

/// The streamed message `stream` as an ordinary message with `text`: its chat, reply target and
/// key, and the segment kind it was opened with (Text or Markdown).
OutgoingMessage with_stream_text(const OutgoingMessage& stream, std::string text);

/// A sender's progress that is the platform ids of the messages it sent so far, in order (a JSON
/// array of strings): send_stream_whole's parts, Discord's pages. Unreadable or empty: none.
std::vector<std::string> sent_ids_of(const std::string& progress);
std::string progress_of_sent_ids(const std::vector<std::string>& ids);

/// Waits until the stream ended and returns it then.
asio::awaitable<Result<StreamSnapshot>> stream_ending(StreamFeed& feed);

/// Sends the stream's final text once it ended, as `sender` sends any message (split where it
/// is too long: the parts after the first get the keys "<key>-<i>"). The progress records the
/// platform ids of the parts sent, so a retry or a restart sends only the parts not sent yet.
/// A stream that ended with no text fails (nothing to send).
asio::awaitable<Result<SentMessage>> send_stream_whole(Sender& sender, const OutgoingMessage& stream,
                                                       StreamFeed& feed);

}  // namespace botgate
